-- A newswatch database as schema version 1 wrote it (for the migration test).
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS "feeds" (
   "name" TEXT PRIMARY KEY,
   "url" TEXT,
   "etag" TEXT,
   "last_modified" TEXT,
   "last_poll" TEXT,
   "last_success" TEXT,
   "last_status" INTEGER,
   "last_error" TEXT,
   "error_count" INTEGER NOT NULL DEFAULT 0,
   "next_poll" TEXT,
   "articles_seen" INTEGER NOT NULL DEFAULT 0,
   "polls" INTEGER NOT NULL DEFAULT 0
);
INSERT INTO feeds VALUES('wire','https://n.example/feed','"e1"',NULL,NULL,'2026-11-24T06:00:00Z',200,NULL,0,'2026-11-24T06:15:00Z',0,0);
CREATE TABLE seen (key TEXT PRIMARY KEY, feed TEXT NOT NULL, first_seen TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO seen VALUES('guid:wire:g1','wire','2026-11-24T06:00:00Z');
INSERT INTO seen VALUES('https://n.example/1','wire','2026-11-24T06:00:00Z');
CREATE TABLE IF NOT EXISTS "articles" (
   "id" INTEGER PRIMARY KEY,
   "key" TEXT NOT NULL,
   "feed" TEXT NOT NULL,
   "url" TEXT,
   "title" TEXT,
   "summary" TEXT,
   "content" TEXT,
   "author" TEXT,
   "categories" TEXT,
   "published" TEXT,
   "found" TEXT NOT NULL
);
INSERT INTO articles VALUES(1,'https://n.example/1','wire','https://n.example/1','Largest drone attack','s','','',NULL,NULL,'2026-11-24T06:00:00Z');
CREATE TABLE IF NOT EXISTS "alerts" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "target" TEXT NOT NULL,
   "rules" TEXT,
   "snippet" TEXT,
   "status" TEXT NOT NULL DEFAULT 'pending',
   "created" TEXT NOT NULL,
   "attempts" INTEGER NOT NULL DEFAULT 0,
   "next_attempt" TEXT,
   "sent" TEXT,
   "last_error" TEXT
);
INSERT INTO alerts VALUES(1,1,'hook','["drones"]','the **largest drone attack**','pending','2026-11-24T06:00:00Z',0,'2026-11-24T06:00:00Z',NULL,NULL);
CREATE UNIQUE INDEX "idx_articles_key"
    ON "articles" ("key");
CREATE INDEX "idx_articles_found"
    ON "articles" ("found");
CREATE UNIQUE INDEX "idx_alerts_article_id_target"
    ON "alerts" ("article_id", "target");
CREATE INDEX "idx_alerts_status_target_id"
    ON "alerts" ("status", "target", "id");
CREATE INDEX "idx_alerts_created"
    ON "alerts" ("created");
COMMIT;
PRAGMA user_version = 1;
