/**
 * @module The store's names for the record stream. The stream has one encoder and one reader, in
 * `contract/record-stream.ts`, shared with the transfer-service; the store calls a record with its owner
 * an `OwnedRecord` (a `StoredRecord` and its name), and its modules import the stream from here.
 */

export {
  encodeNodesAsStream,
  encodeRecordStream,
  parseRecordStream,
  RecordStreamError,
  streamRecordSize,
} from "../../contract/record-stream.ts";
export type { OwnedRecord } from "../../answer/store/stored-node.ts";
