-- Anyone may sign up as a developer or a customer, so a safe whose developer or customer group
-- confirmed let a requester confirm their own request from a second account. Such groups may no
-- longer confirm (service::safes::put_member refuses it); the ones set before lose their level
-- and keep what else they had. A request still waiting for them waits until it expires, or until
-- an administrator names confirmers who can give it what it needs.
UPDATE safe_members
SET confirm_level = NULL
WHERE group_role IN ('developer', 'customer') AND confirm_level IS NOT NULL;
