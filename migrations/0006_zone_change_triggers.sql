-- Custom migration (drizzle-kit generate --custom): what drizzle-kit cannot write from schema.ts.
-- The zone change log (zone_changes, see workers/db/schema.ts and workers/store/zone-directory.ts) is
-- written by triggers, so every writer of zones is covered. Only changes to what the answer path reads
-- are logged: model, current_version, serial, expires_at, answer_allow; and every create and delete.
CREATE TRIGGER `zone_changes_insert` AFTER INSERT ON `zones` BEGIN
  INSERT INTO `zone_changes` (`name`, `op`) VALUES (NEW.`name`, 'create');
END;
--> statement-breakpoint
CREATE TRIGGER `zone_changes_delete` AFTER DELETE ON `zones` BEGIN
  INSERT INTO `zone_changes` (`name`, `op`) VALUES (OLD.`name`, 'delete');
END;
--> statement-breakpoint
CREATE TRIGGER `zone_changes_rename` AFTER UPDATE OF `name` ON `zones` WHEN OLD.`name` IS NOT NEW.`name` BEGIN
  INSERT INTO `zone_changes` (`name`, `op`) VALUES (OLD.`name`, 'delete');
  INSERT INTO `zone_changes` (`name`, `op`) VALUES (NEW.`name`, 'create');
END;
--> statement-breakpoint
CREATE TRIGGER `zone_changes_update` AFTER UPDATE OF `model`, `current_version`, `serial`, `expires_at`, `answer_allow` ON `zones`
WHEN OLD.`name` IS NEW.`name` AND (OLD.`model` IS NOT NEW.`model` OR OLD.`current_version` IS NOT NEW.`current_version`
  OR OLD.`serial` IS NOT NEW.`serial` OR OLD.`expires_at` IS NOT NEW.`expires_at` OR OLD.`answer_allow` IS NOT NEW.`answer_allow`) BEGIN
  INSERT INTO `zone_changes` (`name`, `op`) VALUES (NEW.`name`, 'update');
END;
--> statement-breakpoint
-- Keep the newest 65,536 rows: an isolate that fell further behind than that starts over (it sees the gap).
CREATE TRIGGER `zone_changes_prune` AFTER INSERT ON `zone_changes` BEGIN
  DELETE FROM `zone_changes` WHERE `seq` <= NEW.`seq` - 65536;
END;
--> statement-breakpoint
-- A zone name's depth (its dots), so the deepest zone is one probe of this index. The answer path's
-- query (workers/store/zone-directory.ts) writes the expression exactly so.
CREATE INDEX `zones_depth` ON `zones` ((length(`name`) - length(replace(`name`, '.', ''))));
