ALTER TABLE `zones` ADD `source` text;--> statement-breakpoint
ALTER TABLE `zones` ADD `source_token_sealed` blob;