CREATE TABLE `blocks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`zone_id` integer NOT NULL,
	`tree` integer NOT NULL,
	`first_key` blob NOT NULL,
	`last_key` blob NOT NULL,
	`added_version` integer NOT NULL,
	`removed_version` integer,
	`record_count` integer NOT NULL,
	`data` blob NOT NULL,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `blocks_lookup` ON `blocks` (`zone_id`,`tree`,`first_key`);--> statement-breakpoint
CREATE TABLE `changesets` (
	`zone_id` integer NOT NULL,
	`version` integer NOT NULL,
	`seq` integer NOT NULL,
	`part` integer NOT NULL,
	`from_serial` integer NOT NULL,
	`to_serial` integer NOT NULL,
	`deletions` blob NOT NULL,
	`additions` blob NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`zone_id`, `version`, `seq`, `part`),
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `ingest_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`zone_id` integer NOT NULL,
	`version` integer NOT NULL,
	`run` integer NOT NULL,
	`tree` integer NOT NULL,
	`piece` integer NOT NULL,
	`record_count` integer NOT NULL,
	`data` blob NOT NULL,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ingest_runs_order` ON `ingest_runs` (`zone_id`,`version`,`run`,`tree`,`piece`);--> statement-breakpoint
CREATE TABLE `transfer_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`zone_id` integer NOT NULL,
	`at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`kind` text NOT NULL,
	`result` text NOT NULL,
	`primary` text,
	`from_serial` integer,
	`to_serial` integer,
	`records` integer,
	`bytes` integer,
	`duration_ms` integer,
	`error` text,
	`instance` text,
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `transfer_log_zone` ON `transfer_log` (`zone_id`,`at`);--> statement-breakpoint
CREATE TABLE `tsig_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`algorithm` text NOT NULL,
	`secret_encrypted` blob NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tsig_keys_name_unique` ON `tsig_keys` (`name`);--> statement-breakpoint
CREATE TABLE `zone_versions` (
	`zone_id` integer NOT NULL,
	`version` integer NOT NULL,
	`state` text DEFAULT 'open' NOT NULL,
	`kind` text NOT NULL,
	`base_version` integer,
	`serial` integer,
	`record_count` integer DEFAULT 0 NOT NULL,
	`owner` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`committed_at` integer,
	PRIMARY KEY(`zone_id`, `version`),
	FOREIGN KEY (`zone_id`) REFERENCES `zones`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `zones` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`model` text DEFAULT 'secondary' NOT NULL,
	`primaries` text DEFAULT '[]' NOT NULL,
	`tsig_key` text,
	`notify_allow` text DEFAULT '[]' NOT NULL,
	`transfer_allow` text DEFAULT '[]' NOT NULL,
	`answer_allow` text DEFAULT '[]' NOT NULL,
	`soa_refresh` integer,
	`soa_retry` integer,
	`soa_expire` integer,
	`soa_minimum` integer,
	`min_refresh` integer DEFAULT 60 NOT NULL,
	`max_refresh` integer DEFAULT 86400 NOT NULL,
	`min_retry` integer DEFAULT 10 NOT NULL,
	`max_retry` integer DEFAULT 3600 NOT NULL,
	`min_expire` integer DEFAULT 3600 NOT NULL,
	`max_expire` integer DEFAULT 2419200 NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`status_detail` text DEFAULT 'waiting for the first transfer' NOT NULL,
	`current_version` integer,
	`serial` integer,
	`record_count` integer DEFAULT 0 NOT NULL,
	`primary_serial` integer,
	`expires_at` integer,
	`last_check_at` integer,
	`next_refresh_at` integer,
	`lease_owner` text,
	`lease_until` integer,
	`refresh_requested_at` integer,
	`refresh_force` text,
	`refresh_accept_lower_serial` integer DEFAULT false NOT NULL,
	`webhook_secret_hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `zones_name_unique` ON `zones` (`name`);