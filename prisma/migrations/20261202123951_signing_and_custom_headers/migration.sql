-- AlterTable
ALTER TABLE "hooks" ADD COLUMN     "previous_secret" TEXT,
ADD COLUMN     "previous_secret_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "signing_token" TEXT;

-- CreateTable
CREATE TABLE "custom_headers" (
    "hook_id" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "custom_headers_pkey" PRIMARY KEY ("hook_id","key")
);

-- AddForeignKey
ALTER TABLE "custom_headers" ADD CONSTRAINT "custom_headers_hook_id_fkey" FOREIGN KEY ("hook_id") REFERENCES "hooks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Custom headers are part of a hook as the cache holds it: their changes are announced like the
-- url variables' (hand-written: Prisma's schema has no triggers).
CREATE TRIGGER "custom_headers_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "custom_headers"
  FOR EACH ROW EXECUTE FUNCTION "hookgate_notify_hook_change"();
