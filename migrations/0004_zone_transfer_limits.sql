ALTER TABLE `zones` ADD `max_records` integer;--> statement-breakpoint
ALTER TABLE `zones` ADD `max_bytes` integer;