-- Custom migration (drizzle-kit generate --custom): the change feed's update trigger (migration
-- `zone_config_feed`) again, with the columns added since that the service reads from a zone's
-- configuration: catalog zones (issue 19) and primary zones' serial policy and UPDATE allow-list (issue 22).
-- Keep this list in step with `db/queries/zone-config.ts` when a column the service reads is added.
DROP TRIGGER `zones_change_seq_update`;
--> statement-breakpoint
CREATE TRIGGER `zones_change_seq_update` AFTER UPDATE OF `name`, `model`, `primaries`, `tsig_key`, `notify_allow`, `transfer_allow`, `also_notify`, `answer_allow`, `soa_refresh`, `soa_retry`, `soa_expire`, `soa_minimum`, `min_refresh`, `max_refresh`, `min_retry`, `max_retry`, `min_expire`, `max_expire`, `max_records`, `max_bytes`, `current_version`, `serial`, `record_count`, `primary_serial`, `expires_at`, `rrsig_expires_at`, `next_refresh_at`, `refresh_requested_at`, `refresh_force`, `refresh_accept_lower_serial`, `catalog`, `catalog_groups`, `member_of`, `serial_policy`, `update_allow` ON `zones` WHEN NEW.`change_seq` IS OLD.`change_seq` BEGIN
  UPDATE `zone_config_seq` SET `value` = `value` + 1 WHERE `id` = 1;
  UPDATE `zones` SET `change_seq` = (SELECT `value` FROM `zone_config_seq` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
