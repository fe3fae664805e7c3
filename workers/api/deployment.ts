/**
 * @module `GET /api/v1/deployment` (issue 23): what an operator copies to a primary before adding a zone,
 * as this deployment is configured: its nameserver names (`BACKSTOP_NAMESERVERS`, which a live zone's apex
 * NS set must include) and the addresses it transfers from (`BACKSTOP_TRANSFER_ADDRESSES`, for the
 * primary's transfer ACL). An unset or malformed value is not an error here: it is a warning in words,
 * because the rest of Backstop works without them and the panel shows the same warnings.
 */
import { Hono } from "hono";
import ipaddr from "ipaddr.js";
import type { Env } from "../env.d.ts";
import { normalizeDnsName } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { adminAuth } from "./admin-auth.ts";
import { operation } from "./openapi.ts";

export interface Deployment {
  /** Nameserver names, lowercase, without the trailing dot. */
  nameservers: string[];
  /** Transfer-source addresses, as written. */
  transferAddresses: string[];
  /** What is unset or wrong in the two settings, in words. */
  warnings: string[];
}

function listOf(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** The deployment's settings, read from the Worker's vars. */
export function deploymentOf(env: Env): Deployment {
  const warnings: string[] = [];
  const nameservers: string[] = [];
  for (const raw of listOf(env.BACKSTOP_NAMESERVERS)) {
    const result = normalizeDnsName(raw);
    if ("error" in result) warnings.push(`BACKSTOP_NAMESERVERS: "${raw}" is not a name: ${result.error}`);
    else nameservers.push(result.name);
  }
  const transferAddresses: string[] = [];
  for (const raw of listOf(env.BACKSTOP_TRANSFER_ADDRESSES)) {
    if (ipaddr.isValid(raw)) transferAddresses.push(raw);
    else warnings.push(`BACKSTOP_TRANSFER_ADDRESSES: "${raw}" is not an IPv4 or IPv6 address`);
  }
  if (nameservers.length === 0) {
    warnings.push(
      "BACKSTOP_NAMESERVERS is not set: set this deployment's nameserver names (wrangler.toml [vars]) so that the " +
        "apex NS check can tell whether a zone's NS set includes them",
    );
  }
  if (transferAddresses.length === 0) {
    warnings.push(
      "BACKSTOP_TRANSFER_ADDRESSES is not set: set the addresses the transfer-service transfers from (wrangler.toml " +
        "[vars]) so that they can be copied into the primary's transfer ACL",
    );
  }
  return { nameservers, transferAddresses, warnings };
}

export const deploymentRoutes = new Hono<RouteEnv>();
deploymentRoutes.use("*", adminAuth);
deploymentRoutes.get(
  "/",
  operation({ summary: "This deployment's nameservers and transfer addresses, to copy to a primary", tag: 'deployment', responses: [{ status: 200, description: 'nameservers, transfer addresses, and warnings while unset' }] }),
  (c) => c.json(deploymentOf(c.env)));
