/**
 * @module Test support: master-file text (RFC 1035 §5) → records (the project's parser, `dns/zonefile`) → a
 * {@link MemoryZoneStore} holding one or more zones with the settings a test gives them.
 */
import { Name } from "../../dns/name.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import { MemoryZoneStore, type OwnedRecord } from "../store/memory-zone-store.ts";
import type { ZoneInfo } from "../zone-store.ts";

/** The records of `text`, with `origin` as the initial `$ORIGIN` and 3600 as the TTL before any `$TTL`. */
export function zoneRecords(text: string, origin: Name): OwnedRecord[] {
  return parseZoneText(text, { origin, defaultTtl: 3600 });
}

/** Settings of a test zone; everything but the apex has a serving default. */
export type TestZone = { apex: string; text: string } & Partial<Omit<ZoneInfo, "name">>;

/** A store holding the given zones, numbered from 1, each loaded at version 1 and never expiring. */
export function storeOf(...zones: TestZone[]): MemoryZoneStore {
  return new MemoryZoneStore(
    zones.map((z, i) => {
      const apex = Name.parse(z.apex);
      return {
        info: {
          id: z.id ?? i + 1,
          name: apex,
          model: z.model ?? "secondary",
          version: z.version === undefined ? 1 : z.version,
          expiresAt: z.expiresAt ?? null,
          answerAllow: z.answerAllow ?? [],
        },
        records: zoneRecords(z.text, apex),
      };
    }),
  );
}
