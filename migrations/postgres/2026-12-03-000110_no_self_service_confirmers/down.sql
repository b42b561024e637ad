-- The levels cleared are not kept anywhere: nothing to restore.
SELECT 1;
