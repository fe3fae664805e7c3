// Types for the workerd test pool: the Worker's bindings plus the migrations the setup file applies.
import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "./env.d.ts";
import type * as mainModule from "./index.ts";

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof mainModule;
    }
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
