-- Every change to a hook or its url variables, whoever makes it (the API, the delivery engine's
-- auto-disable, a person with psql), is announced on one channel with the hook's id, so each
-- Hookgate process can drop what it cached of that hook. Creations need no notice: nothing is
-- cached of a hook that did not exist. Hand-written: Prisma's schema has no triggers.
CREATE FUNCTION "hookgate_notify_hook_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'hooks' THEN
    PERFORM pg_notify('hookgate_hook_changes', OLD."id"::text);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('hookgate_hook_changes', OLD."hook_id"::text);
  ELSE
    PERFORM pg_notify('hookgate_hook_changes', NEW."hook_id"::text);
    IF TG_OP = 'UPDATE' AND OLD."hook_id" <> NEW."hook_id" THEN
      PERFORM pg_notify('hookgate_hook_changes', OLD."hook_id"::text);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "hooks_notify_update" AFTER UPDATE ON "hooks"
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION "hookgate_notify_hook_change"();
CREATE TRIGGER "hooks_notify_delete" AFTER DELETE ON "hooks"
  FOR EACH ROW EXECUTE FUNCTION "hookgate_notify_hook_change"();
CREATE TRIGGER "url_variables_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "url_variables"
  FOR EACH ROW EXECUTE FUNCTION "hookgate_notify_hook_change"();
