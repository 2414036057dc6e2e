-- Hook.deliveries pages newest first by id (one index range scan per hook, whatever its history).
-- DropIndex
DROP INDEX "deliveries_hook_id_created_at_idx";

-- CreateIndex
CREATE INDEX "deliveries_hook_id_id_idx" ON "deliveries"("hook_id", "id");
