/** The differential suite on the unsigned test zones (issue 7's done-criterion; docs/conformance.md). */
import { describeDifferential } from "./differential.ts";
import { CHILD_APEX, CHILD_ZONE, PARENT_APEX, PARENT_ZONE } from "./zones.ts";

describeDifferential("differential: Backstop vs knotd and nsd (unsigned zones)", async () => [
  { name: PARENT_APEX, text: PARENT_ZONE },
  { name: CHILD_APEX, text: CHILD_ZONE },
]);
