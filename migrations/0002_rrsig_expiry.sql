ALTER TABLE `blocks` ADD `rrsig_expires_at` integer;--> statement-breakpoint
ALTER TABLE `zones` ADD `rrsig_expires_at` integer;