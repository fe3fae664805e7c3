ALTER TABLE `zones` ADD `serial_policy` text DEFAULT 'increment' NOT NULL;--> statement-breakpoint
ALTER TABLE `zones` ADD `update_allow` text DEFAULT '[]' NOT NULL;