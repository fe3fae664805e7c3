ALTER TABLE `zones` ADD `catalog` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `zones` ADD `catalog_groups` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `zones` ADD `catalog_report` text;--> statement-breakpoint
ALTER TABLE `zones` ADD `member_of` text;--> statement-breakpoint
ALTER TABLE `zones` ADD `catalog_member_id` text;--> statement-breakpoint
ALTER TABLE `zones` ADD `catalog_group` text;--> statement-breakpoint
ALTER TABLE `zones` ADD `catalog_coo` text;--> statement-breakpoint
CREATE INDEX `zones_member_of` ON `zones` (`member_of`);