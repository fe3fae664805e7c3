CREATE TABLE `ingest_ranges` (
	`zone_id` integer NOT NULL,
	`version` integer NOT NULL,
	`tree` integer NOT NULL,
	`first_key` blob NOT NULL,
	`last_key` blob NOT NULL,
	`run` integer NOT NULL,
	`token` text NOT NULL,
	PRIMARY KEY(`zone_id`, `version`, `tree`, `first_key`),
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_blocks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`zone_id` integer NOT NULL,
	`tree` integer NOT NULL,
	`first_key` blob NOT NULL,
	`last_key` blob NOT NULL,
	`added_version` integer NOT NULL,
	`removed_version` integer,
	`record_count` integer NOT NULL,
	`data` text NOT NULL,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_blocks`("id", "zone_id", "tree", "first_key", "last_key", "added_version", "removed_version", "record_count", "data") SELECT "id", "zone_id", "tree", "first_key", "last_key", "added_version", "removed_version", "record_count", "data" FROM `blocks`;--> statement-breakpoint
DROP TABLE `blocks`;--> statement-breakpoint
ALTER TABLE `__new_blocks` RENAME TO `blocks`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `blocks_lookup` ON `blocks` (`zone_id`,`tree`,`first_key`);--> statement-breakpoint
CREATE TABLE `__new_ingest_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`zone_id` integer NOT NULL,
	`version` integer NOT NULL,
	`run` integer NOT NULL,
	`tree` integer NOT NULL,
	`piece` integer NOT NULL,
	`record_count` integer NOT NULL,
	`data` text NOT NULL,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_ingest_runs`("id", "zone_id", "version", "run", "tree", "piece", "record_count", "data") SELECT "id", "zone_id", "version", "run", "tree", "piece", "record_count", "data" FROM `ingest_runs`;--> statement-breakpoint
DROP TABLE `ingest_runs`;--> statement-breakpoint
ALTER TABLE `__new_ingest_runs` RENAME TO `ingest_runs`;--> statement-breakpoint
CREATE UNIQUE INDEX `ingest_runs_order` ON `ingest_runs` (`zone_id`,`version`,`run`,`tree`,`piece`);