// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICollectionTypes
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
    event ReferralCredited(address indexed referrer, uint256 indexed edition, uint256 amount);
    /// @notice Voucher `voucherId` was used to mint.
    event VoucherUsed(uint256 indexed voucherId, uint256 indexed edition, address indexed recipient);
    /// @notice Voucher `voucherId` was cancelled by a voucher signer before use; it can no longer be used.
    event VoucherCancelled(uint256 indexed voucherId, address indexed signer);
    /// @notice An admin minted `quantity` tokens of `edition` in total to `recipients` accounts.
    event Airdropped(uint256 indexed edition, address indexed operator, uint256 recipients, uint256 quantity);
    /// @notice `holder` redeemed (burned) `quantity` of `edition`; `redemptionRef` ties it to an off-chain claim.
    event Redeemed(
        uint256 indexed edition,
        address indexed holder,
        bytes32 indexed redemptionRef,
        address operator,
        uint256 quantity
    );

    event EditionCreated(
        uint256 indexed edition,
        uint256 maxSupply,
        bool soulbound,
        bool redeemable,
        uint256 referralBps
    );
    event MaxSupplyUpdated(uint256 indexed edition, uint256 previousMaxSupply, uint256 newMaxSupply);
    event PhaseUpdated(
        uint256 indexed edition,
        uint256 indexed phase,
        uint256 start,
        uint256 end,
        uint256 price,
        uint256 walletLimit,
        bytes32 merkleRoot
    );
    event ReferralBpsUpdated(uint256 indexed edition, uint256 referralBps);
    event RedeemableUpdated(uint256 indexed edition, bool redeemable);
    event EditionPauseUpdated(uint256 indexed edition, bool paused);
    /// @notice The collection was paused (all sales and redemptions stop) by `account`; see {PauseApplied}.
    event Paused(address account);
    /// @notice The pause now holds for editions 1 to `appliedThrough` (and any created since it began), out of
    ///         `editionCount`; complete when they are equal.
    event PauseApplied(uint256 appliedThrough, uint256 editionCount);
    event Unpaused(address account);
    /// @notice The URI of `id` is final (OpenSea's convention).
    event PermanentURI(string value, uint256 indexed id);
    /// @notice ERC-7572: the collection metadata changed.
    event ContractURIUpdated();
    event DefaultRoyaltyUpdated(address indexed receiver, uint256 royaltyBps);
    event EditionRoyaltyUpdated(uint256 indexed edition, address indexed receiver, uint256 royaltyBps);
    event PayoutRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event PartnerWithdrawal(address indexed recipient, uint256 amount);
    event PlatformWithdrawal(address indexed recipient, uint256 amount);
    /// @notice `referrer`'s credit of `amount` wei was sent to `recipient` (the referrer itself unless it chose).
    event ReferralWithdrawal(address indexed referrer, address indexed recipient, uint256 amount);
    /// @notice `holder` allowed (or stopped) `operator` to redeem its tokens.
    event ApprovalForRedemption(address indexed holder, address indexed operator, bool approved);

    // ----------------------------------------------------------------------------------------------- errors

    error NotFactory(address caller);
    error AlreadyInitialized();
    error InvalidOwner(address owner);
    error InvalidPlatformFee(uint256 feeBps, uint256 maxFeeBps);
    error UnknownEdition(uint256 edition);
    error UnknownPhase(uint256 edition, uint256 phase, uint256 maxPhases);
    error TooManyPhases(uint256 count, uint256 maxPhases);
    error InvalidMaxSupply(uint256 maxSupply);
    error MaxSupplyIncrease(uint256 edition, uint256 maxSupply, uint256 requested);
    error MaxSupplyBelowMinted(uint256 edition, uint256 minted, uint256 requested);
    error InvalidReferralBps(uint256 referralBps, uint256 maxReferralBps);
    error InvalidPhaseWindow(uint256 start, uint256 end);
    error ZeroQuantity();
    error ExceedsMaxSupply(uint256 edition, uint256 maxSupply, uint256 minted, uint256 requested);
    error ExceedsWalletLimit(uint256 edition, uint256 limit, uint256 minted, uint256 requested);
    error WrongPayment(uint256 expected, uint256 paid);
    error PhaseNotActive(uint256 edition, uint256 phase, uint256 start, uint256 end, uint256 timestamp);
    error EditionPaused(uint256 edition);
    error CollectionPaused();
    error CollectionNotPaused();
    error AllowlistProofRequired(uint256 edition, uint256 phase);
    error NotAnAllowlistPhase(uint256 edition, uint256 phase);
    error NotAllowlisted(uint256 edition, uint256 phase, address account, uint256 allowance);
    error SelfReferral(address referrer);
    /// @notice A referrer that could never withdraw its credit (this collection, its factory, the implementation).
    error InvalidReferrer(address referrer);
    error InvalidRecipient(address recipient);
    /// @notice `operator` is neither `holder` nor approved by it for redemption.
    error RedemptionNotApproved(address operator, address holder);
    error URIFrozen(uint256 edition);
    error Soulbound(uint256 edition);
    error NotRedeemable(uint256 edition);
    error VoucherWrongChain(uint256 expectedChainId, uint256 voucherChainId);
    error VoucherExpired(uint256 voucherId, uint256 deadline, uint256 timestamp);
    error VoucherAlreadyUsed(uint256 voucherId);
    error InvalidVoucherSignature(address recoveredSigner);
    /// @notice The voucher was signed in an epoch of `signer` that has ended (its role was revoked since).
    error VoucherSignerEpochEnded(address signer, uint256 voucherEpoch, uint256 currentEpoch);
    error LengthMismatch(uint256 recipients, uint256 quantities);
    error NothingToWithdraw();
    error WithdrawalFailed(address recipient, uint256 amount);
    error NotOwner(address caller, address owner);
}
