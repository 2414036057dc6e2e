-- Query.deliveries (newest first by created_at, id, under each combination of its equality filters)
-- and the deliveryUpdated(after:) catch-up (changes since a cursor, by updated_at, id).
-- CreateIndex
CREATE INDEX "deliveries_created_at_id_idx" ON "deliveries"("created_at", "id");

-- CreateIndex
CREATE INDEX "deliveries_status_created_at_id_idx" ON "deliveries"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "deliveries_hook_id_created_at_id_idx" ON "deliveries"("hook_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "deliveries_hook_id_status_created_at_id_idx" ON "deliveries"("hook_id", "status", "created_at", "id");

-- CreateIndex
CREATE INDEX "deliveries_updated_at_id_idx" ON "deliveries"("updated_at", "id");
