/**
 * @module An `XfrSink` that keeps the zone as a set of presentation lines (`owner ttl TYPE data`), applying
 * AXFRs and IXFR changesets the way a store would, and checking the changesets as it goes: a deletion must
 * remove a record that is there, an addition must add one that is not (RFC 1995 §4 inconsistency).
 * For tests of the transfer client against real peers: the result is compared with the peer's zone text.
 */
import { typeToString } from "../../dns/constants.ts";
import type { ResourceRecord } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import type { XfrSink } from "../../transfer-service/remote/xfr-in.ts";
import { parseRecordStream } from "../../contract/record-stream.ts";

export function presentation(rr: ResourceRecord): string {
  return `${rr.name.toString().toLowerCase()} ${rr.ttl} ${typeToString(rr.type)} ${rdataToText(rr.type, rr.rdata)}`;
}

export class CollectingSink implements XfrSink {
  /** The zone after the last completed transfer (SOA included). */
  zone = new Set<string>();
  private building = new Set<string>();
  private mode: "full" | "delete" | "add" | "idle" = "idle";
  /** Calls seen, for tests of the event order. */
  readonly events: string[] = [];
  chunks = 0;
  maxChunk = 0;

  async beginFull(soa: ResourceRecord): Promise<void> {
    this.events.push("full");
    this.building = new Set([presentation(soa)]);
    this.mode = "full";
  }

  async beginIncremental(soa: ResourceRecord): Promise<void> {
    this.events.push("incremental");
    this.building = new Set(this.zone);
    void soa;
  }

  async beginChangeset(fromSoa: ResourceRecord): Promise<void> {
    this.events.push("changeset");
    const line = presentation(fromSoa);
    if (!this.building.delete(line)) throw new Error(`changeset starts at ${line}, which is not our SOA`);
    this.mode = "delete";
  }

  async beginAdditions(toSoa: ResourceRecord): Promise<void> {
    this.building.add(presentation(toSoa));
    this.mode = "add";
  }

  async records(chunk: ResourceRecord[]): Promise<void> {
    this.chunks++;
    this.maxChunk = Math.max(this.maxChunk, chunk.length);
    for (const rr of chunk) {
      const line = presentation(rr);
      if (this.mode === "delete") {
        if (!this.building.delete(line)) throw new Error(`IXFR deletes ${line}, which is not in the zone`);
      } else if (this.mode === "add" || this.mode === "full") {
        if (this.mode === "add" && this.building.has(line)) throw new Error(`IXFR adds ${line}, which is already there`);
        this.building.add(line);
      } else {
        throw new Error("records outside a transfer");
      }
    }
  }

  async end(): Promise<void> {
    this.events.push("end");
    this.zone = this.building;
    this.mode = "idle";
  }

  sorted(): string[] {
    return [...this.zone].sort();
  }
}

/** The same, taking a whole zone as record streams (`XfrSink.rawRecords`), as the Worker client does. */
export class StreamCollectingSink extends CollectingSink {
  streams = 0;
  constructor(readonly rawChunkBytes: number) {
    super();
  }
  async rawRecords(stream: Uint8Array, records: number): Promise<void> {
    const parsed = parseRecordStream(stream);
    if (parsed.length !== records) throw new Error(`a stream of ${parsed.length} records announced as ${records}`);
    this.streams++;
    await this.records(parsed);
  }
}
