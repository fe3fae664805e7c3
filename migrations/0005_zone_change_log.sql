CREATE TABLE `zone_changes` (
	`seq` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`op` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `zones_next_refresh` ON `zones` (`next_refresh_at`,`name`);