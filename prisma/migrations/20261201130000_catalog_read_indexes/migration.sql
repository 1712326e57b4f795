-- The catalog's edition holders, largest first (server/catalog/ownership.ts listEditionHolders): each page is one or
-- two ranges of this index from the cursor (amount, owner), never a sort of every holder.
CREATE INDEX "token_balance_chain_id_collection_token_id_amount_owner_idx"
    ON "token_balance" ("chain_id", "collection", "token_id", "amount" DESC, "owner");
