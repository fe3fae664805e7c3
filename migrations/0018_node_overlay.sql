CREATE TABLE `node_overlay` (
	`zone_id` integer NOT NULL,
	`added_version` integer NOT NULL,
	`tree` integer NOT NULL,
	`part` integer NOT NULL,
	`removed_version` integer,
	`owners` integer NOT NULL,
	`rrsig_expires_at` integer,
	`data` text NOT NULL,
	PRIMARY KEY(`zone_id`, `added_version`, `tree`, `part`),
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `zones` ADD `overlay_from` integer;