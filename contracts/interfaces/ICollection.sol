// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICollectionTypes
/// @author Perkmint
/// @notice Structs, events and errors of a Perkmint {Collection}. Amounts are in wei, times in Unix seconds,
///         fees in basis points (1/100 of a percent).
interface ICollectionTypes {
    /// @notice A sale phase of one edition. Active while `start <= block.timestamp < end`.
    /// @param start First second of the phase.
    /// @param end First second after the phase; `start == end` disables it.
    /// @param price Price of one token, in wei (zero for a free claim).
    /// @param walletLimit Most tokens one recipient may receive in this phase; 0 = no limit.
    /// @param merkleRoot Root of a StandardMerkleTree over `(address, uint256 maxQuantity)` leaves, or zero for a
    ///        public phase. In an allowlist phase a recipient's limit is the smaller of its leaf's maxQuantity and
    ///        `walletLimit` (when set).
    struct Phase {
        uint32 start;
        uint32 end;
        uint80 price;
        uint24 walletLimit;
        bytes32 merkleRoot;
    }

    /// @notice The settings an edition is created with.
    /// @param maxSupply Hard cap on the total ever minted (burns do not free supply); lowerable, never raisable.
    /// @param referralBps Share of each referred sale credited to the referrer (at most 5,000 = 50%).
    /// @param soulbound Fixed at creation: tokens can be minted and burned but never transferred (ERC-5633).
    /// @param redeemable Whether holders may redeem (burn with a reference); can be changed later.
    /// @param royaltyReceiver ERC-2981 royalty receiver for this edition; zero = the collection default.
    /// @param royaltyBps ERC-2981 royalty for this edition, in basis points.
    /// @param uri Metadata URI of the edition.
    struct EditionSettings {
        uint32 maxSupply;
        uint16 referralBps;
        bool soulbound;
        bool redeemable;
        address royaltyReceiver;
        uint96 royaltyBps;
        string uri;
    }

    /// @notice An edition's state, as returned by {Collection-edition}.
    struct EditionInfo {
        uint256 minted;
        uint256 maxSupply;
        uint256 referralBps;
        bool paused;
        bool soulbound;
        bool redeemable;
        bool uriFrozen;
    }

    /// @notice An EIP-712 signed permission to mint, issued by a platform voucher signer (how points buy editions).
    /// @param recipient Who receives the tokens.
    /// @param edition Edition (token id) to mint.
    /// @param quantity Number of tokens.
    /// @param price Total to pay for the whole voucher, in wei; may be zero.
    /// @param id Unique voucher id; each id can be used once per collection.
    /// @param deadline Last second at which the voucher can be used.
    /// @param signerEpoch The signer's epoch when it signed (`EditionFactory.voucherSignerEpoch`): a revocation of
    ///        the signer's role ends the epoch, and with it every voucher signed in it.
    struct MintVoucher {
        address recipient;
        uint256 edition;
        uint256 quantity;
        uint256 price;
        uint256 id;
        uint256 deadline;
        uint256 signerEpoch;
    }

    // ----------------------------------------------------------------------------------------------- events

    /// @notice A sale: emitted with the ERC-1155 TransferSingle of every phase mint and voucher mint.
    /// @param edition Token id.
    /// @param recipient Who received the tokens.
    /// @param referrer Referrer named by the buyer, or zero.
    /// @param buyer Who sent the transaction and paid.
    /// @param phase Phase index, or {Collection-VOUCHER_PHASE} for a voucher mint.
    /// @param quantity Tokens minted.
    /// @param paid Wei paid.
    event Minted(
        uint256 indexed edition,
        address indexed recipient,
        address indexed referrer,
        address buyer,
        uint256 phase,
        uint256 quantity,
        uint256 paid
    );
    /// @notice `amount` wei of a referred sale of `edition` was credited to `referrer`.
    /// @param referrer Referrer named by the buyer; withdraws with {Collection-withdrawReferralRewards}.
    /// @param edition Token id sold.
    /// @param amount Wei credited: `floor(paid * referralBps / 10_000)`.
    event ReferralCredited(address indexed referrer, uint256 indexed edition, uint256 amount);
    /// @notice Voucher `voucherId` was used to mint.
    /// @param voucherId The voucher's `id`; it can never be used again in this collection.
    /// @param edition Token id minted.
    /// @param recipient Who received the tokens (`voucher.recipient`).
    event VoucherUsed(uint256 indexed voucherId, uint256 indexed edition, address indexed recipient);
    /// @notice Voucher `voucherId` was cancelled by a voucher signer before use; it can no longer be used.
    /// @param voucherId The cancelled voucher's `id`.
    /// @param signer The voucher signer that cancelled it.
    event VoucherCancelled(uint256 indexed voucherId, address indexed signer);
    /// @notice An admin minted `quantity` tokens of `edition` in total to `recipients` accounts.
    /// @param edition Token id airdropped.
    /// @param operator The edition admin that called {Collection-airdrop}.
    /// @param recipients Number of recipients (entries, duplicates counted).
    /// @param quantity Total tokens minted across all recipients.
    event Airdropped(uint256 indexed edition, address indexed operator, uint256 recipients, uint256 quantity);
    /// @notice `holder` redeemed (burned) `quantity` of `edition`; `redemptionRef` ties it to an off-chain claim.
    /// @param edition Token id redeemed.
    /// @param holder Whose tokens were burned.
    /// @param redemptionRef Caller-chosen reference of the off-chain claim (order, use, shipment).
    /// @param operator Who called {Collection-redeem}: the holder or an operator approved for redemption.
    /// @param quantity Tokens burned.
    event Redeemed(
        uint256 indexed edition,
        address indexed holder,
        bytes32 indexed redemptionRef,
        address operator,
        uint256 quantity
    );

    /// @notice A new edition (token id) was created; its phases follow as {PhaseUpdated}.
    /// @param edition The new token id (editions are numbered from 1).
    /// @param maxSupply Hard cap on the total ever minted.
    /// @param soulbound Whether its tokens can never be transferred (fixed for life).
    /// @param redeemable Whether holders may redeem it (changeable, see {RedeemableUpdated}).
    /// @param referralBps Share of each referred sale credited to the referrer, in basis points.
    event EditionCreated(
        uint256 indexed edition,
        uint256 maxSupply,
        bool soulbound,
        bool redeemable,
        uint256 referralBps
    );
    /// @notice The max supply of `edition` was lowered.
    /// @param edition Token id.
    /// @param previousMaxSupply The cap before.
    /// @param newMaxSupply The cap now (at least what was minted).
    event MaxSupplyUpdated(uint256 indexed edition, uint256 previousMaxSupply, uint256 newMaxSupply);
    /// @notice Phase `phase` of `edition` was set (at creation or by {Collection-setPhase}).
    /// @param edition Token id.
    /// @param phase Phase index, 0 to 6.
    /// @param start First second of the phase.
    /// @param end First second after the phase.
    /// @param price Price of one token, in wei.
    /// @param walletLimit Most tokens one recipient may receive in the phase; 0 = no limit.
    /// @param merkleRoot Allowlist root, or zero for a public phase.
    event PhaseUpdated(
        uint256 indexed edition,
        uint256 indexed phase,
        uint256 start,
        uint256 end,
        uint256 price,
        uint256 walletLimit,
        bytes32 merkleRoot
    );
    /// @notice The referral share of `edition` changed.
    /// @param edition Token id.
    /// @param referralBps New share of each referred sale, in basis points.
    event ReferralBpsUpdated(uint256 indexed edition, uint256 referralBps);
    /// @notice Redemption of `edition` was allowed or forbidden.
    /// @param edition Token id.
    /// @param redeemable Whether holders may now redeem it.
    event RedeemableUpdated(uint256 indexed edition, bool redeemable);
    /// @notice `edition` was paused or resumed on its own (independent of the collection-wide pause).
    /// @param edition Token id.
    /// @param paused Whether its sales, vouchers and redemptions are now stopped.
    event EditionPauseUpdated(uint256 indexed edition, bool paused);
    /// @notice The collection was paused (all sales and redemptions stop) by `account`; see {PauseApplied}.
    /// @param account The edition admin that called {Collection-pause}.
    event Paused(address account);
    /// @notice The pause now holds for editions 1 to `appliedThrough` (and any created since it began), out of
    ///         `editionCount`; complete when they are equal.
    /// @param appliedThrough Highest edition id the pause is mirrored into so far.
    /// @param editionCount Number of editions of the collection.
    event PauseApplied(uint256 appliedThrough, uint256 editionCount);
    /// @notice The collection-wide pause was lifted (editions paused on their own stay paused).
    /// @param account The edition admin that called {Collection-unpause}.
    event Unpaused(address account);
    /// @notice The URI of `id` is final (OpenSea's convention).
    /// @param value The frozen metadata URI.
    /// @param id Token id (edition).
    event PermanentURI(string value, uint256 indexed id);
    /// @notice ERC-7572: the collection metadata changed.
    event ContractURIUpdated();
    /// @notice The collection's default ERC-2981 royalty changed.
    /// @param receiver New receiver, or zero when the default royalty was removed.
    /// @param royaltyBps New royalty in basis points (zero when removed).
    event DefaultRoyaltyUpdated(address indexed receiver, uint256 royaltyBps);
    /// @notice `edition`'s own ERC-2981 royalty changed.
    /// @param edition Token id.
    /// @param receiver New receiver, or zero when the edition falls back to the collection default.
    /// @param royaltyBps New royalty in basis points (zero when reset).
    event EditionRoyaltyUpdated(uint256 indexed edition, address indexed receiver, uint256 royaltyBps);
    /// @notice The address the partner's proceeds are sent to changed.
    /// @param previousRecipient Where proceeds went before.
    /// @param newRecipient Where they go now (the owner when no custom recipient is set).
    event PayoutRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);
    /// @notice The collection changed owner (at initialisation `previousOwner` is zero); earlier roles ended.
    /// @param previousOwner The owner before.
    /// @param newOwner The owner now: its only admin until it grants roles again.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice The partner's proceeds were paid out by {Collection-withdraw}.
    /// @param recipient The payout recipient paid.
    /// @param amount Wei sent.
    event PartnerWithdrawal(address indexed recipient, uint256 amount);
    /// @notice The platform's fees were paid out by {Collection-withdrawPlatformFees}.
    /// @param recipient The factory's fee recipient at the time.
    /// @param amount Wei sent.
    event PlatformWithdrawal(address indexed recipient, uint256 amount);
    /// @notice `referrer`'s credit of `amount` wei was sent to `recipient` (the referrer itself unless it chose).
    /// @param referrer Whose credit was paid out (now zero).
    /// @param recipient Who received the ether.
    /// @param amount Wei sent.
    event ReferralWithdrawal(address indexed referrer, address indexed recipient, uint256 amount);
    /// @notice `holder` allowed (or stopped) `operator` to redeem its tokens.
    /// @param holder The account whose tokens are concerned.
    /// @param operator The account allowed or stopped.
    /// @param approved Whether `operator` may now redeem `holder`'s tokens.
    event ApprovalForRedemption(address indexed holder, address indexed operator, bool approved);

    // ----------------------------------------------------------------------------------------------- errors

    /// @notice Only the factory that deployed the implementation may initialise a clone.
    error NotFactory(address caller);
    /// @notice The collection (or the implementation, locked at deployment) is already initialised.
    error AlreadyInitialized();
    /// @notice The zero address cannot own a collection.
    error InvalidOwner(address owner);
    /// @notice `feeBps` is above the platform fee cap `maxFeeBps`.
    error InvalidPlatformFee(uint256 feeBps, uint256 maxFeeBps);
    /// @notice No edition `edition` exists (ids run from 1 to {Collection-editionCount}).
    error UnknownEdition(uint256 edition);
    /// @notice `phase` is not a phase index (0 to `maxPhases - 1`).
    error UnknownPhase(uint256 edition, uint256 phase, uint256 maxPhases);
    /// @notice An edition was created with `count` phases; at most `maxPhases`.
    error TooManyPhases(uint256 count, uint256 maxPhases);
    /// @notice An edition needs a max supply above zero.
    error InvalidMaxSupply(uint256 maxSupply);
    /// @notice Max supply can only be lowered: `requested` is above the current `maxSupply`.
    error MaxSupplyIncrease(uint256 edition, uint256 maxSupply, uint256 requested);
    /// @notice Max supply cannot go below what was already `minted`.
    error MaxSupplyBelowMinted(uint256 edition, uint256 minted, uint256 requested);
    /// @notice `referralBps` is above the cap `maxReferralBps` (50%).
    error InvalidReferralBps(uint256 referralBps, uint256 maxReferralBps);
    /// @notice A phase cannot end before it starts.
    error InvalidPhaseWindow(uint256 start, uint256 end);
    /// @notice A mint, airdrop or redemption of nothing (or an airdrop with no recipients).
    error ZeroQuantity();
    /// @notice Minting `requested` more would take `edition` past `maxSupply` (`minted` so far).
    error ExceedsMaxSupply(uint256 edition, uint256 maxSupply, uint256 minted, uint256 requested);
    /// @notice The recipient already got `minted` in this phase; `requested` more would pass `limit`.
    error ExceedsWalletLimit(uint256 edition, uint256 limit, uint256 minted, uint256 requested);
    /// @notice `msg.value` must be exactly `expected` (price times quantity, or the voucher's price).
    error WrongPayment(uint256 expected, uint256 paid);
    /// @notice The phase is active only while `start <= timestamp < end`.
    error PhaseNotActive(uint256 edition, uint256 phase, uint256 start, uint256 end, uint256 timestamp);
    /// @notice `edition` is paused on its own ({Collection-setEditionPaused}).
    error EditionPaused(uint256 edition);
    /// @notice The collection is paused (or already paused, for {Collection-pause}).
    error CollectionPaused();
    /// @notice {Collection-unpause} or {Collection-continuePause} on a collection that is not paused.
    error CollectionNotPaused();
    /// @notice The phase has an allowlist: use {Collection-mintAllowlisted}.
    error AllowlistProofRequired(uint256 edition, uint256 phase);
    /// @notice The phase is public: use {Collection-mint}.
    error NotAnAllowlistPhase(uint256 edition, uint256 phase);
    /// @notice `(account, allowance)` is not a leaf of the phase's Merkle tree (or the proof is wrong).
    error NotAllowlisted(uint256 edition, uint256 phase, address account, uint256 allowance);
    /// @notice The buyer or the recipient named itself as `referrer`.
    error SelfReferral(address referrer);
    /// @notice A referrer that could never withdraw its credit (this collection, its factory, the implementation).
    error InvalidReferrer(address referrer);
    /// @notice Referral rewards cannot be sent to the zero address.
    error InvalidRecipient(address recipient);
    /// @notice `operator` is neither `holder` nor approved by it for redemption.
    error RedemptionNotApproved(address operator, address holder);
    /// @notice The metadata URI of `edition` is frozen ({Collection-freezeURI}).
    error URIFrozen(uint256 edition);
    /// @notice Tokens of soulbound `edition` cannot be transferred (only minted and burned).
    error Soulbound(uint256 edition);
    /// @notice `edition` is not redeemable.
    error NotRedeemable(uint256 edition);
    /// @notice The voucher was issued for chain `voucherChainId`, not this one.
    error VoucherWrongChain(uint256 expectedChainId, uint256 voucherChainId);
    /// @notice The voucher's `deadline` has passed.
    error VoucherExpired(uint256 voucherId, uint256 deadline, uint256 timestamp);
    /// @notice The voucher was already used or cancelled.
    error VoucherAlreadyUsed(uint256 voucherId);
    /// @notice The signature is malformed, or `recoveredSigner` is not a voucher signer now.
    error InvalidVoucherSignature(address recoveredSigner);
    /// @notice The voucher was signed in an epoch of `signer` that has ended (its role was revoked since).
    error VoucherSignerEpochEnded(address signer, uint256 voucherEpoch, uint256 currentEpoch);
    /// @notice {Collection-airdrop} needs one quantity per recipient.
    error LengthMismatch(uint256 recipients, uint256 quantities);
    /// @notice The withdrawal would send zero wei.
    error NothingToWithdraw();
    /// @notice Sending `amount` wei to `recipient` failed (it reverted or cannot take ether).
    error WithdrawalFailed(address recipient, uint256 amount);
    /// @notice Only the owner may transfer ownership.
    error NotOwner(address caller, address owner);
}
