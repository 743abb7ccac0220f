"""Events and webhooks: the outbox written in each change's transaction, subscriptions, signed delivery
with retries, and the delivery log. Below `core` (which writes the outbox), above `store`."""
