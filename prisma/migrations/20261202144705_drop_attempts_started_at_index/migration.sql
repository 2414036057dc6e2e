-- Retention removes attempts with their deliveries (by delivery_id), not by age: this index only
-- served the old prune, and cost a write on every recorded attempt.
-- DropIndex
DROP INDEX "delivery_attempts_started_at_idx";
