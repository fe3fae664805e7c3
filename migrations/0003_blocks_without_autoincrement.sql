PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_blocks` (
	`id` integer PRIMARY KEY NOT NULL,
	`zone_id` integer NOT NULL,
	`tree` integer NOT NULL,
	`first_key` blob NOT NULL,
	`last_key` blob NOT NULL,
	`added_version` integer NOT NULL,
	`removed_version` integer,
	`record_count` integer NOT NULL,
	`data` text NOT NULL,
	`rrsig_expires_at` integer,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_blocks`("id", "zone_id", "tree", "first_key", "last_key", "added_version", "removed_version", "record_count", "data", "rrsig_expires_at") SELECT "id", "zone_id", "tree", "first_key", "last_key", "added_version", "removed_version", "record_count", "data", "rrsig_expires_at" FROM `blocks`;--> statement-breakpoint
DROP TABLE `blocks`;--> statement-breakpoint
ALTER TABLE `__new_blocks` RENAME TO `blocks`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `blocks_lookup` ON `blocks` (`zone_id`,`tree`,`first_key`);