-- Custom migration (drizzle-kit generate --custom): the triggers behind zones.change_seq, the service's
-- change feed (issue 19; workers/db/schema.ts, workers/db/queries/zone-config.ts). Every insert of a zones
-- row, and every update of a column the service reads from its configuration, by any writer, takes the next
-- number of zone_config_seq. Not the refresh lease, the status and its words, nor the last check's time:
-- every refresh writes those (lease taken, `refreshing`, report, lease given back), and bumping on each
-- would cost 4 rows written (counter, row, index entry twice) four times per refresh; the report's serial,
-- expiry and next refresh bump once. The WHEN skips the triggers' own write (it changes change_seq), so
-- nothing recurses; a write that sets a listed column to the value it has puts a zone back in the feed.
INSERT INTO `zone_config_seq` (`id`, `value`) VALUES (1, (SELECT coalesce(max(`id`), 0) FROM `zones`));
--> statement-breakpoint
UPDATE `zones` SET `change_seq` = `id`;
--> statement-breakpoint
CREATE TRIGGER `zones_change_seq_insert` AFTER INSERT ON `zones` BEGIN
  UPDATE `zone_config_seq` SET `value` = `value` + 1 WHERE `id` = 1;
  UPDATE `zones` SET `change_seq` = (SELECT `value` FROM `zone_config_seq` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `zones_change_seq_update` AFTER UPDATE OF `name`, `model`, `primaries`, `tsig_key`, `notify_allow`, `transfer_allow`, `also_notify`, `answer_allow`, `soa_refresh`, `soa_retry`, `soa_expire`, `soa_minimum`, `min_refresh`, `max_refresh`, `min_retry`, `max_retry`, `min_expire`, `max_expire`, `max_records`, `max_bytes`, `current_version`, `serial`, `record_count`, `primary_serial`, `expires_at`, `rrsig_expires_at`, `next_refresh_at`, `refresh_requested_at`, `refresh_force`, `refresh_accept_lower_serial` ON `zones` WHEN NEW.`change_seq` IS OLD.`change_seq` BEGIN
  UPDATE `zone_config_seq` SET `value` = `value` + 1 WHERE `id` = 1;
  UPDATE `zones` SET `change_seq` = (SELECT `value` FROM `zone_config_seq` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
