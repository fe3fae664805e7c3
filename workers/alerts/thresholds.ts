/**
 * @module Alert thresholds: built-in defaults, the deployment's own (the `*` row of `alert_thresholds`,
 * `PUT /api/v1/alert-thresholds`) over them, and a zone's overrides (`PUT /api/v1/zones/:name/alert-thresholds`)
 * over those. Each layer sets only the fields it names.
 */
import { z } from "zod";

export const AlertThresholds = z.object({
  /** `failing`: this many failed checks or transfers in a row. */
  failingChecks: z.number().int().min(1).max(1000),
  /** `stale`: the primary's serial ahead of ours for longer than this many × REFRESH. */
  staleRefreshFactor: z.number().min(1).max(100),
  /** `expiring`: less than this fraction of EXPIRE left before the zone stops being served. */
  expiringFraction: z.number().gt(0).lt(1),
  /** `rrsig-expiring`: the earliest RRSIG expires before the next expected refresh plus this margin. */
  rrsigMarginSeconds: z.number().int().min(0).max(365 * 86_400),
  /**
   * Damping: a condition must hold this long before its alert opens. Null: one check interval of the zone
   * (its RETRY after clamps, the pace at which a failing zone is checked again; 60 s before the first check).
   */
  dampSeconds: z.number().int().min(0).max(86_400).nullable(),
});
export type AlertThresholds = z.infer<typeof AlertThresholds>;

/** What a layer may set: any subset, nothing else (a misspelt field is a 400, not a silent no-op). */
export const AlertThresholdsPatch = AlertThresholds.partial().strict();
export type AlertThresholdsPatch = z.infer<typeof AlertThresholdsPatch>;

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  failingChecks: 3,
  staleRefreshFactor: 2,
  expiringFraction: 0.1,
  rrsigMarginSeconds: 2 * 86_400,
  dampSeconds: null,
};

/** The `alert_thresholds` row that holds the deployment's own thresholds. */
export const DEPLOYMENT_ROW = "*";

/** The layers merged in order; a stored layer that no longer validates (an older field set) is ignored field by field. */
export function mergeThresholds(...layers: (Record<string, unknown> | undefined)[]): AlertThresholds {
  const out: Record<string, unknown> = { ...DEFAULT_THRESHOLDS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      const field = AlertThresholds.shape[key as keyof AlertThresholds];
      if (field?.safeParse(value).success) out[key] = value;
    }
  }
  return out as AlertThresholds;
}
