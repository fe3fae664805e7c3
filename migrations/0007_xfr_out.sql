ALTER TABLE `transfer_log` ADD `direction` text DEFAULT 'in' NOT NULL;--> statement-breakpoint
ALTER TABLE `zones` ADD `also_notify` text DEFAULT '[]' NOT NULL;