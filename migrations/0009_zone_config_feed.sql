-- Custom migration (drizzle-kit generate --custom): the triggers behind zones.change_seq, the service's
-- change feed (issue 19; workers/db/schema.ts, workers/db/queries/zone-config.ts). Every insert and every
-- update of a zones row, by any writer, takes the next number of zone_config_seq. The update trigger's WHEN
-- skips the triggers' own write (it changes change_seq), so nothing recurses; a write that sets change_seq
-- to the value it has (`SET change_seq = change_seq`) is a way to put a zone back in the feed.
INSERT INTO `zone_config_seq` (`id`, `value`) VALUES (1, (SELECT coalesce(max(`id`), 0) FROM `zones`));
--> statement-breakpoint
UPDATE `zones` SET `change_seq` = `id`;
--> statement-breakpoint
CREATE TRIGGER `zones_change_seq_insert` AFTER INSERT ON `zones` BEGIN
  UPDATE `zone_config_seq` SET `value` = `value` + 1 WHERE `id` = 1;
  UPDATE `zones` SET `change_seq` = (SELECT `value` FROM `zone_config_seq` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `zones_change_seq_update` AFTER UPDATE ON `zones` WHEN NEW.`change_seq` IS OLD.`change_seq` BEGIN
  UPDATE `zone_config_seq` SET `value` = `value` + 1 WHERE `id` = 1;
  UPDATE `zones` SET `change_seq` = (SELECT `value` FROM `zone_config_seq` WHERE `id` = 1) WHERE `id` = NEW.`id`;
END;
