/**
 * @module The store's names for the record stream. The stream has one encoder and one reader, in
 * `contract/record-stream.ts`, shared with the transfer-service; the store calls a record with its owner
 * an `OwnedRecord` (a `StoredRecord` and its name), and its modules import the stream from here.
 */
import type { Name } from "../../dns/name.ts";
import type { StoredRecord } from "./stored-node.ts";

export {
  encodeNodesAsStream,
  encodeRecordStream,
  parseRecordStream,
  RecordStreamError,
  streamRecordSize,
} from "../../contract/record-stream.ts";

/** A record with its owner, as it travels in a stream (the contract's `StreamRecord`). */
export interface OwnedRecord extends StoredRecord {
  name: Name;
}
