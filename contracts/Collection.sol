// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {PackedERC1155} from "./token/PackedERC1155.sol";
import {OwnerAccessControl} from "./access/OwnerAccessControl.sol";
import {ICollectionTypes} from "./interfaces/ICollection.sol";

/// @title IPlatform
/// @author Perkmint
/// @notice What a collection asks of the factory that created it.
interface IPlatform {
    /// @notice Where platform fees are sent now.
    function feeRecipient() external view returns (address);
    /// @notice The epoch `signer` signs vouchers in, or zero if it is not a voucher signer.
    /// @param signer The account that signed a voucher.
    function voucherSignerEpoch(address signer) external view returns (uint256);
}

/// @title Collection
/// @author Perkmint
/// @notice One IP partner's ERC-1155 collection: editions (one token id each) with a hard max supply, timed sale
///         phases with prices, per-wallet limits and Merkle allowlists, referral rewards, EIP-712 mint vouchers,
///         airdrops, redemption by burning, soulbound editions (ERC-5633), ERC-2981 royalties and pull payouts.
/// @dev Deployed as an ERC-1167 clone by {EditionFactory} and initialised once, by the factory.
///
///      Gas design (see docs/contracts.md). A sale reads and writes exactly two storage words:
///      - the edition word `_editions[id]`: minted and max supply, phase 0's window, price and wallet limit, the
///        referral share and the flags, so a phase-0 mint needs no other edition storage;
///      - the holder word `_packed[id][to]` (see {PackedERC1155}): balance plus one 32-bit mint counter per phase,
///        so wallet limits cost no extra slot.
///      Payouts are derived, not booked per sale: everything ever received is `balance + withdrawn`; the platform
///      is owed `floor(received * feeBps / 10_000)`, referrers what was credited to them, and the partner the rest.
///      A sale without a referrer therefore writes no accounting storage at all.
contract Collection is
    PackedERC1155,
    OwnerAccessControl,
    ERC2981,
    ReentrancyGuardTransient,
    IERC5267,
    ICollectionTypes
{
    // ------------------------------------------------------------------------------------------------ constants

    /// @notice May create and configure editions, phases, pauses, URIs and royalties, and airdrop.
    bytes32 public constant EDITION_ADMIN_ROLE = keccak256("EDITION_ADMIN_ROLE");
    /// @notice Held on the factory (the platform) by accounts whose vouchers every collection accepts.
    bytes32 public constant VOUCHER_SIGNER_ROLE = keccak256("VOUCHER_SIGNER_ROLE");
    /// @notice Phases per edition: indexes 0 to 6 (one 32-bit counter each in a holder word).
    uint256 public constant MAX_PHASES = 7;
    /// @notice The `phase` reported by {Minted} for voucher mints.
    uint256 public constant VOUCHER_PHASE = type(uint256).max;
    /// @notice The highest platform fee a collection accepts at initialisation: 10%.
    uint256 public constant MAX_PLATFORM_FEE_BPS = 1_000;
    /// @notice The highest referral share of an edition: 50%.
    uint256 public constant MAX_REFERRAL_BPS = 5_000;
    uint256 private constant BPS = 10_000;
    /// @notice Editions {pause} mirrors the pause into at once; {continuePause} does the rest, in chunks.
    uint256 public constant PAUSE_BATCH = 1_000;

    // EIP-712 type strings are fixed by the standard and hashed at compile time: their length costs no gas.
    // solhint-disable gas-small-strings
    /// @notice EIP-712 type hash of {MintVoucher}, as signed by the platform's voucher signers.
    bytes32 public constant MINT_VOUCHER_TYPEHASH = keccak256(
        "MintVoucher(address recipient,uint256 edition,uint256 quantity,uint256 price,uint256 id,uint256 deadline,uint256 signerEpoch)"
    );
    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    // solhint-enable gas-small-strings
    string private constant EIP712_NAME = "Perkmint Collection";
    string private constant EIP712_VERSION = "1";

    // Edition word layout (bits). Phase words of phases 1..6 use the same offsets for the phase fields.
    uint256 private constant MAX_SUPPLY_SHIFT = 32; // bits 0..31 hold minted
    uint256 private constant START_SHIFT = 64;
    uint256 private constant END_SHIFT = 96;
    uint256 private constant PRICE_SHIFT = 128; // 80 bits
    uint256 private constant WALLET_LIMIT_SHIFT = 208; // 24 bits
    uint256 private constant REFERRAL_SHIFT = 232; // 14 bits
    uint256 private constant ALLOWLIST_FLAG = 1 << 246;
    uint256 private constant PAUSED_FLAG = 1 << 247;
    /// @dev Mirror of the collection-wide pause in edition words, so a sale of an edition without it reads one
    ///      word, not two. Set by {pause}/{continuePause}; {unpause} leaves it, and the next sale of the edition,
    ///      finding `_config.paused` false, clears it (see {_checkSaleable}).
    uint256 private constant COLLECTION_PAUSED_FLAG = 1 << 248;
    uint256 private constant SOULBOUND_FLAG = 1 << 249;
    uint256 private constant REDEEMABLE_FLAG = 1 << 250;
    uint256 private constant URI_FROZEN_FLAG = 1 << 251;
    uint256 private constant EXISTS_FLAG = 1 << 252;
    uint256 private constant PHASE_MASK = (((1 << 168) - 1) << START_SHIFT) | ALLOWLIST_FLAG;
    uint256 private constant U32 = 0xffffffff;

    /// @notice The factory that created this collection (and this implementation).
    address public immutable factory;
    /// @dev The implementation every clone delegates to (it can never withdraw a referral credit either).
    address private immutable _implementation = address(this);

    // ------------------------------------------------------------------------------------------------ storage

    struct Config {
        address owner;
        uint16 platformFeeBps;
        bool paused;
        uint32 editionCount;
        /// @dev While paused: editions 1..pauseApplied carry the mirror bit (so do any created since the pause).
        uint32 pauseApplied;
    }

    struct Withdrawn {
        uint128 partner;
        uint128 platform;
    }

    struct ReferralTotals {
        uint128 credited;
        uint128 withdrawn;
    }

    Config private _config;
    address private _payoutRecipient;
    Withdrawn private _withdrawn;
    ReferralTotals private _referrals;
    string private _contractURI;
    mapping(uint256 edition => uint256 word) private _editions;
    mapping(uint256 edition => mapping(uint256 phase => uint256 word)) private _phaseWords;
    mapping(uint256 edition => mapping(uint256 phase => bytes32 root)) private _merkleRoots;
    mapping(uint256 edition => string uri) private _uris;
    mapping(address referrer => uint256 amount) private _referralOwed;
    mapping(uint256 bucket => uint256 bits) private _usedVouchers;
    mapping(address holder => mapping(address operator => bool)) private _redemptionApprovals;

    // ------------------------------------------------------------------------------------------------ setup

    /// @dev The implementation is created by the factory and locked: only clones are ever initialised.
    constructor() {
        factory = msg.sender;
        _config.owner = address(0xdead);
    }

    /// @notice Initialises a fresh clone. Only the factory may call it, once.
    /// @param owner_ The partner: always holds DEFAULT_ADMIN_ROLE and receives sales proceeds (until changed).
    /// @param contractURI_ Collection metadata URI (ERC-7572).
    /// @param royaltyReceiver Default ERC-2981 royalty receiver, or zero for none.
    /// @param royaltyBps Default royalty in basis points.
    /// @param platformFeeBps_ The platform's share of every sale, fixed for the life of the collection.
    function initialize(
        address owner_,
        string calldata contractURI_,
        address royaltyReceiver,
        uint96 royaltyBps,
        uint16 platformFeeBps_
    ) external {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        if (_config.owner != address(0)) revert AlreadyInitialized();
        if (owner_ == address(0)) revert InvalidOwner(address(0));
        if (platformFeeBps_ > MAX_PLATFORM_FEE_BPS) revert InvalidPlatformFee(platformFeeBps_, MAX_PLATFORM_FEE_BPS);
        _config = Config({
            owner: owner_,
            platformFeeBps: platformFeeBps_,
            paused: false,
            editionCount: 0,
            pauseApplied: 0
        });
        // The owner's admin role is derived from `owner`, not stored (see OwnerAccessControl).
        emit RoleGranted(DEFAULT_ADMIN_ROLE, owner_, msg.sender);
        emit OwnershipTransferred(address(0), owner_);
        if (bytes(contractURI_).length != 0) _contractURI = contractURI_;
        if (royaltyReceiver != address(0)) {
            _setDefaultRoyalty(royaltyReceiver, royaltyBps);
            emit DefaultRoyaltyUpdated(royaltyReceiver, royaltyBps);
        }
    }

    // ------------------------------------------------------------------------------------------------ sales

    /// @notice Buys `quantity` tokens of `edition` in public phase `phase` for `to`, paying exactly
    ///         `price * quantity`. The phase's wallet limit counts what `to` received in it, whoever pays.
    ///         Reverts if the edition or collection is paused, the phase is not active or has an allowlist, the
    ///         payment is wrong, or max supply or the wallet limit would be passed.
    /// @param edition_ Edition (token id) to buy.
    /// @param to Recipient of the tokens (its receiver hook is called if it is a contract).
    /// @param quantity Number of tokens, at least 1.
    /// @param phase_ Public phase index (0 to 6) to buy in.
    /// @param referrer Who referred the buyer (credited the edition's referral share), or zero for none. Neither
    ///        the buyer, the recipient, this collection nor its factory. Nothing stops a buyer naming a second wallet
    ///        of its own: the referral share is in effect a discount any buyer can take.
    /// @dev Parameter order chosen for the selector (0x427293bc): the IR dispatcher compares selectors linearly in
    ///      ascending order, so a low selector makes the hottest function cheaper to reach.
    function mint(uint256 edition_, address to, uint256 quantity, uint256 phase_, address referrer) external payable {
        uint256 e = _editions[edition_];
        uint256 p = phase_ == 0 ? e : _phaseWord(edition_, phase_);
        if (p & ALLOWLIST_FLAG != 0) revert AllowlistProofRequired(edition_, phase_);
        _sell(edition_, phase_, e, p, to, quantity, referrer, type(uint256).max);
    }

    /// @notice Buys in allowlist phase `phase`. `to` must be in the phase's Merkle tree with leaf
    ///         `(to, allowance)` (StandardMerkleTree encoding of `["address", "uint256"]`); `to` may receive at most
    ///         `allowance` in the phase (and at most the phase's wallet limit, when it has one).
    /// @param edition_ Edition (token id) to buy.
    /// @param to Recipient of the tokens; must be the account in the allowlist leaf.
    /// @param quantity Number of tokens, at least 1.
    /// @param phase_ Allowlist phase index (0 to 6) to buy in.
    /// @param referrer Who referred the buyer, or zero (same rules as {mint}).
    /// @param allowance The leaf's maxQuantity for `to`.
    /// @param proof Merkle proof of the leaf `(to, allowance)` against the phase's root.
    function mintAllowlisted(
        uint256 edition_,
        address to,
        uint256 quantity,
        uint256 phase_,
        address referrer,
        uint256 allowance,
        bytes32[] calldata proof
    ) external payable {
        uint256 e = _editions[edition_];
        uint256 p = phase_ == 0 ? e : _phaseWord(edition_, phase_);
        if (p & ALLOWLIST_FLAG == 0) revert NotAnAllowlistPhase(edition_, phase_);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(to, allowance))));
        if (!MerkleProof.verifyCalldata(proof, _merkleRoots[edition_][phase_], leaf)) {
            revert NotAllowlisted(edition_, phase_, to, allowance);
        }
        _sell(edition_, phase_, e, p, to, quantity, referrer, allowance);
    }

    /// @notice Mints with a voucher signed by a platform voucher signer in its current epoch (a voucher signed
    ///         before the signer's role was revoked stays dead even if it is granted again). Phases and wallet
    ///         limits do not apply; max supply and pauses do. Anyone may submit it; tokens go to
    ///         `voucher.recipient`.
    /// @param voucher The signed voucher; `msg.value` must equal `voucher.price`.
    /// @param chainId The chain the voucher was issued for (must be this chain).
    /// @param signature The signer's EIP-712 signature over `voucher` for this collection's domain.
    function mintWithVoucher(MintVoucher calldata voucher, uint256 chainId, bytes calldata signature) external payable {
        if (chainId != block.chainid) revert VoucherWrongChain(block.chainid, chainId);
        if (block.timestamp > voucher.deadline) {
            revert VoucherExpired(voucher.id, voucher.deadline, block.timestamp);
        }
        uint256 bucket = voucher.id >> 8;
        uint256 bit = 1 << (voucher.id & 0xff);
        uint256 used = _usedVouchers[bucket];
        if (used & bit != 0) revert VoucherAlreadyUsed(voucher.id);
        bytes32 structHash = keccak256(
            abi.encode(
                MINT_VOUCHER_TYPEHASH,
                voucher.recipient,
                voucher.edition,
                voucher.quantity,
                voucher.price,
                voucher.id,
                voucher.deadline,
                voucher.signerEpoch
            )
        );
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(
            MessageHashUtils.toTypedDataHash(_domainSeparator(), structHash),
            signature
        );
        // Zero: not a voucher signer now.
        uint256 epoch = err == ECDSA.RecoverError.NoError ? IPlatform(factory).voucherSignerEpoch(signer) : 0;
        if (epoch == 0) revert InvalidVoucherSignature(signer);
        if (voucher.signerEpoch != epoch) revert VoucherSignerEpochEnded(signer, voucher.signerEpoch, epoch);
        if (msg.value != voucher.price) revert WrongPayment(voucher.price, msg.value);
        _usedVouchers[bucket] = used | bit;

        uint256 e = _saleableEdition(voucher.edition); // the edition word to write back (see _checkSaleable)
        address to = voucher.recipient;
        uint256 quantity = voucher.quantity;
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        _checkSupply(voucher.edition, e, quantity);
        _editions[voucher.edition] = e + quantity;
        unchecked {
            _packed[voucher.edition][to] += quantity; // quantity < 2^32 after the supply check
        }
        emit VoucherUsed(voucher.id, voucher.edition, to);
        emit TransferSingle(msg.sender, address(0), to, voucher.edition, quantity);
        emit Minted(voucher.edition, to, address(0), msg.sender, VOUCHER_PHASE, quantity, msg.value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), to, voucher.edition, quantity, "");
    }

    /// @notice Makes voucher `voucherId` unusable (e.g. before refunding the points it was bought with).
    ///         Callable by any platform voucher signer.
    /// @param voucherId The voucher's `id`; reverts if already used or cancelled.
    function cancelVoucher(uint256 voucherId) external {
        if (!IAccessControl(factory).hasRole(VOUCHER_SIGNER_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, VOUCHER_SIGNER_ROLE);
        }
        uint256 bit = 1 << (voucherId & 0xff);
        uint256 used = _usedVouchers[voucherId >> 8];
        if (used & bit != 0) revert VoucherAlreadyUsed(voucherId);
        _usedVouchers[voucherId >> 8] = used | bit;
        emit VoucherCancelled(voucherId, msg.sender);
    }

    /// @notice Mints `quantities[i]` of `edition` to each `recipients[i]`, within max supply. Ignores phases,
    ///         wallet limits and pauses. All or nothing: if any share does not fit (a receiver hook may itself mint),
    ///         none is minted.
    /// @param edition_ Edition (token id) to mint; reverts if it does not exist.
    /// @param recipients Who receives tokens (entries may repeat; none may be zero).
    /// @param quantities How many each recipient gets, in the same order (each at least 1).
    /// @dev Supply is booked per recipient, just before its balance and its receiver hook, so a hook sees exactly
    ///      the supply of the balances that exist, and a re-entrant mint is checked against it. The edition word is
    ///      read again each time: a hook may have changed it.
    function airdrop(
        uint256 edition_,
        address[] calldata recipients,
        uint256[] calldata quantities
    ) external onlyEditionAdmin {
        if (recipients.length != quantities.length) revert LengthMismatch(recipients.length, quantities.length);
        _existingEdition(edition_);
        if (recipients.length == 0) revert ZeroQuantity();
        mapping(address => uint256) storage holders = _packed[edition_];
        uint256 total;
        for (uint256 i; i < recipients.length; ++i) {
            address to = recipients[i];
            uint256 quantity = quantities[i];
            if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
            uint256 e = _editions[edition_];
            _checkSupply(edition_, e, quantity);
            unchecked {
                // quantity <= maxSupply - minted < 2^32: neither word carries; total <= maxSupply.
                _editions[edition_] = e + quantity;
                holders[to] += quantity;
                total += quantity;
            }
            emit TransferSingle(msg.sender, address(0), to, edition_, quantity);
            ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), to, edition_, quantity, "");
        }
        emit Airdropped(edition_, msg.sender, recipients.length, total);
    }

    // ------------------------------------------------------------------------------------------------ burning

    /// @notice Burns `quantity` of `edition` held by `from` against an off-chain claim identified by `redemptionRef`
    ///         (a consumable use, a physical good). The edition must be redeemable and not paused. Only the holder,
    ///         or an operator it approved for redemption ({setApprovalForRedemption}): an approval for all (given to
    ///         trade) does not let an operator redeem.
    /// @param from Holder whose tokens are burned.
    /// @param edition_ Redeemable edition (token id) to redeem.
    /// @param quantity Number of tokens, at least 1.
    /// @param redemptionRef Reference of the off-chain claim, repeated in {Redeemed}.
    function redeem(address from, uint256 edition_, uint256 quantity, bytes32 redemptionRef) external {
        if (from != msg.sender && !_redemptionApprovals[from][msg.sender])
            revert RedemptionNotApproved(msg.sender, from);
        uint256 e = _saleableEdition(edition_);
        if (e & REDEEMABLE_FLAG == 0) revert NotRedeemable(edition_);
        if (quantity == 0) revert ZeroQuantity();
        _burnBalance(from, edition_, quantity);
        emit TransferSingle(msg.sender, from, address(0), edition_, quantity);
        emit Redeemed(edition_, from, redemptionRef, msg.sender, quantity);
    }

    /// @notice Lets `operator` redeem the caller's tokens of any redeemable edition (e.g. a redemption desk), or
    ///         stops it. Separate from {setApprovalForAll}, which lets an operator move tokens, not redeem them.
    /// @param operator The account to allow or stop (not zero).
    /// @param approved Whether `operator` may redeem the caller's tokens.
    function setApprovalForRedemption(address operator, bool approved) external {
        if (operator == address(0)) revert ERC1155InvalidOperator(address(0));
        _redemptionApprovals[msg.sender][operator] = approved;
        emit ApprovalForRedemption(msg.sender, operator, approved);
    }

    /// @notice Whether `operator` may redeem `holder`'s tokens.
    /// @param holder The token holder.
    /// @param operator The account that would redeem.
    function isApprovedForRedemption(address holder, address operator) external view returns (bool) {
        return _redemptionApprovals[holder][operator];
    }

    /// @notice Burns `quantity` of `edition` held by `from` (the holder or an approved operator), e.g. to discard
    ///         a soulbound token.
    /// @param from Holder whose tokens are burned.
    /// @param edition_ Edition (token id); any edition, paused or soulbound included.
    /// @param quantity Number of tokens.
    function burn(address from, uint256 edition_, uint256 quantity) external {
        _checkOperator(from);
        _burnBalance(from, edition_, quantity);
        emit TransferSingle(msg.sender, from, address(0), edition_, quantity);
    }

    // ------------------------------------------------------------------------------------------------ payouts

    /// @notice Everything ever paid into the collection (withdrawn or not).
    function totalReceived() public view returns (uint256) {
        Withdrawn memory w = _withdrawn;
        return address(this).balance + w.partner + w.platform + _referrals.withdrawn;
    }

    /// @notice What the platform can withdraw now.
    function platformBalance() public view returns (uint256) {
        return (totalReceived() * _config.platformFeeBps) / BPS - _withdrawn.platform;
    }

    /// @notice What the partner can withdraw now: everything received minus the platform's fee, referral credits,
    ///         and what the partner already withdrew. Rounding remainders land here.
    function partnerBalance() public view returns (uint256) {
        uint256 received = totalReceived();
        return received - (received * _config.platformFeeBps) / BPS - _referrals.credited - _withdrawn.partner;
    }

    /// @notice What `referrer` can withdraw now.
    /// @param referrer The referrer to look up.
    function referralBalance(address referrer) external view returns (uint256) {
        return _referralOwed[referrer];
    }

    /// @notice Total referral rewards ever credited, and withdrawn.
    /// @return credited Wei ever credited to referrers.
    /// @return withdrawn Wei of it already withdrawn.
    function referralTotals() external view returns (uint256 credited, uint256 withdrawn) {
        return (_referrals.credited, _referrals.withdrawn);
    }

    /// @notice Sends the partner's proceeds to {payoutRecipient}. Anyone may call it.
    function withdraw() external nonReentrant {
        uint256 amount = partnerBalance();
        if (amount == 0) revert NothingToWithdraw();
        _withdrawn.partner += uint128(amount);
        address recipient = payoutRecipient();
        _send(recipient, amount);
        emit PartnerWithdrawal(recipient, amount);
    }

    /// @notice Sends the platform's fees to the factory's current fee recipient. Anyone may call it.
    function withdrawPlatformFees() external nonReentrant {
        uint256 amount = platformBalance();
        if (amount == 0) revert NothingToWithdraw();
        _withdrawn.platform += uint128(amount);
        address recipient = IPlatform(factory).feeRecipient();
        _send(recipient, amount);
        emit PlatformWithdrawal(recipient, amount);
    }

    /// @notice Sends `referrer` its referral rewards. Anyone may call it.
    /// @param referrer The referrer paid (reverts if it is owed nothing or cannot take ether).
    function withdrawReferralRewards(address referrer) external nonReentrant {
        _withdrawReferral(referrer, referrer);
    }

    /// @notice Sends the caller's referral rewards to `recipient` (e.g. for a referrer contract that cannot take
    ///         ether itself).
    /// @param recipient Where to send the caller's credit (not zero).
    function withdrawReferralRewardsTo(address recipient) external nonReentrant {
        if (recipient == address(0)) revert InvalidRecipient(address(0));
        _withdrawReferral(msg.sender, recipient);
    }

    // ------------------------------------------------------------------------------------------------ editions

    /// @notice Creates an edition (the next token id) with its first phases (index 0 upwards; may be empty).
    ///         Edition admins only. Created paused if the collection is paused.
    /// @param settings Max supply (above zero), referral share (at most {MAX_REFERRAL_BPS}), flags, royalty, URI.
    /// @param phases Phases 0 to `phases.length - 1` (at most {MAX_PHASES}); each must not end before it starts.
    /// @return id The new edition's token id.
    function createEdition(
        EditionSettings calldata settings,
        Phase[] calldata phases
    ) external onlyEditionAdmin returns (uint256 id) {
        if (settings.maxSupply == 0) revert InvalidMaxSupply(0);
        if (settings.referralBps > MAX_REFERRAL_BPS) revert InvalidReferralBps(settings.referralBps, MAX_REFERRAL_BPS);
        if (phases.length > MAX_PHASES) revert TooManyPhases(phases.length, MAX_PHASES);
        Config memory config = _config;
        id = ++config.editionCount;
        uint256 word =
            EXISTS_FLAG |
                (uint256(settings.maxSupply) << MAX_SUPPLY_SHIFT) |
                (uint256(settings.referralBps) << REFERRAL_SHIFT);
        if (config.paused) {
            word |= COLLECTION_PAUSED_FLAG;
            // A pause applied to every edition stays complete.
            if (config.pauseApplied == id - 1) config.pauseApplied = uint32(id);
        }
        _config = config;
        if (settings.soulbound) word |= SOULBOUND_FLAG;
        if (settings.redeemable) word |= REDEEMABLE_FLAG;
        emit EditionCreated(id, settings.maxSupply, settings.soulbound, settings.redeemable, settings.referralBps);
        for (uint256 i; i < phases.length; ++i) {
            uint256 phaseWord = _storePhase(id, i, phases[i]);
            if (i == 0) word |= phaseWord;
        }
        _editions[id] = word;
        if (bytes(settings.uri).length != 0) {
            _uris[id] = settings.uri;
            emit URI(settings.uri, id);
        }
        if (settings.royaltyReceiver != address(0)) {
            _setTokenRoyalty(id, settings.royaltyReceiver, settings.royaltyBps);
            emit EditionRoyaltyUpdated(id, settings.royaltyReceiver, settings.royaltyBps);
        }
    }

    /// @notice Sets (or replaces) phase `phase` of `edition`. Wallet counters of a phase index persist: reuse an
    ///         index to adjust that phase, not to start an unrelated one.
    /// @param edition_ Existing edition (token id).
    /// @param phase_ Phase index, 0 to 6.
    /// @param config The phase; `end` must not be before `start`.
    function setPhase(uint256 edition_, uint256 phase_, Phase calldata config) external onlyEditionAdmin {
        uint256 e = _existingEdition(edition_);
        if (phase_ >= MAX_PHASES) revert UnknownPhase(edition_, phase_, MAX_PHASES);
        uint256 phaseWord = _storePhase(edition_, phase_, config);
        if (phase_ == 0) _editions[edition_] = (e & ~PHASE_MASK) | phaseWord;
    }

    /// @notice Lowers the max supply of `edition` (never below what was minted; never raises it).
    /// @param edition_ Existing edition (token id).
    /// @param maxSupply The new cap, between what was minted and the current cap.
    function setMaxSupply(uint256 edition_, uint256 maxSupply) external onlyEditionAdmin {
        uint256 e = _existingEdition(edition_);
        uint256 current = (e >> MAX_SUPPLY_SHIFT) & U32;
        if (maxSupply > current) revert MaxSupplyIncrease(edition_, current, maxSupply);
        uint256 minted = e & U32;
        if (maxSupply < minted) revert MaxSupplyBelowMinted(edition_, minted, maxSupply);
        _editions[edition_] = (e & ~(U32 << MAX_SUPPLY_SHIFT)) | (maxSupply << MAX_SUPPLY_SHIFT);
        emit MaxSupplyUpdated(edition_, current, maxSupply);
    }

    /// @notice Sets the referral share of `edition`'s sales, in basis points (at most {MAX_REFERRAL_BPS}).
    /// @param edition_ Existing edition (token id).
    /// @param referralBps The new share, in basis points; applies to sales from now on.
    function setReferralBps(uint256 edition_, uint256 referralBps) external onlyEditionAdmin {
        uint256 e = _existingEdition(edition_);
        if (referralBps > MAX_REFERRAL_BPS) revert InvalidReferralBps(referralBps, MAX_REFERRAL_BPS);
        _editions[edition_] = (e & ~(uint256(0x3fff) << REFERRAL_SHIFT)) | (referralBps << REFERRAL_SHIFT);
        emit ReferralBpsUpdated(edition_, referralBps);
    }

    /// @notice Allows or forbids redeeming `edition`.
    /// @param edition_ Existing edition (token id).
    /// @param redeemable Whether holders may redeem it.
    function setRedeemable(uint256 edition_, bool redeemable) external onlyEditionAdmin {
        _setFlag(edition_, REDEEMABLE_FLAG, redeemable);
        emit RedeemableUpdated(edition_, redeemable);
    }

    /// @notice Pauses or resumes sales and redemptions of `edition`.
    /// @param edition_ Existing edition (token id).
    /// @param paused_ Whether to pause it (it stays paused after a collection-wide {unpause}).
    function setEditionPaused(uint256 edition_, bool paused_) external onlyEditionAdmin {
        _setFlag(edition_, PAUSED_FLAG, paused_);
        emit EditionPauseUpdated(edition_, paused_);
    }

    /// @notice Pauses sales, vouchers and redemptions of every edition, present and future. Transfers, burns and
    ///         airdrops continue. Takes effect at once for the first {PAUSE_BATCH} editions and for editions created
    ///         from now on; a collection with more editions needs {continuePause} for the rest ({pauseProgress}).
    /// @dev Sales read only the edition word, so the pause is mirrored into each one (about 5,000 gas per edition),
    ///      in bounded chunks so that no step can outgrow a transaction.
    function pause() external onlyEditionAdmin {
        Config memory config = _config;
        if (config.paused) revert CollectionPaused();
        emit Paused(msg.sender);
        _applyPause(config, 0, PAUSE_BATCH);
    }

    /// @notice Mirrors a pause in progress into up to `maxEditions` more editions. Anyone may call it: it only
    ///         carries out a pause an admin started.
    /// @param maxEditions Most editions to mirror the pause into in this call (bounds its gas).
    function continuePause(uint256 maxEditions) external {
        Config memory config = _config;
        if (!config.paused) revert CollectionNotPaused();
        _applyPause(config, config.pauseApplied, maxEditions);
    }

    /// @notice Ends a collection-wide pause, in constant gas however many editions there are: the mirror bits are
    ///         left for each edition's next sale to clear. Editions paused on their own stay paused.
    function unpause() external onlyEditionAdmin {
        Config memory config = _config;
        if (!config.paused) revert CollectionNotPaused();
        config.paused = false;
        config.pauseApplied = 0;
        _config = config;
        emit Unpaused(msg.sender);
    }

    /// @notice How far a pause has been applied: editions 1 to `applied` (and any created since it began) refuse
    ///         sales; the pause is complete when `applied == editionCount`. Both zero-based on a collection not
    ///         paused (`applied` is then 0).
    /// @return applied Highest edition id the pause is mirrored into.
    /// @return editions Number of editions.
    function pauseProgress() external view returns (uint256 applied, uint256 editions) {
        return (_config.pauseApplied, _config.editionCount);
    }

    /// @notice Sets the metadata URI of `edition` (emits the ERC-1155 `URI` event). Reverts once frozen.
    /// @param edition_ Existing edition (token id).
    /// @param newURI The new metadata URI.
    function setURI(uint256 edition_, string calldata newURI) external onlyEditionAdmin {
        uint256 e = _existingEdition(edition_);
        if (e & URI_FROZEN_FLAG != 0) revert URIFrozen(edition_);
        _uris[edition_] = newURI;
        emit URI(newURI, edition_);
    }

    /// @notice Makes the metadata URI of `edition` permanent.
    /// @param edition_ Existing edition (token id); reverts if already frozen.
    function freezeURI(uint256 edition_) external onlyEditionAdmin {
        uint256 e = _existingEdition(edition_);
        if (e & URI_FROZEN_FLAG != 0) revert URIFrozen(edition_);
        _editions[edition_] = e | URI_FROZEN_FLAG;
        emit PermanentURI(_uris[edition_], edition_);
    }

    /// @notice Sets the collection metadata URI (ERC-7572).
    /// @param newURI The new collection metadata URI.
    function setContractURI(string calldata newURI) external onlyEditionAdmin {
        _contractURI = newURI;
        emit ContractURIUpdated();
    }

    /// @notice Sets the collection's default ERC-2981 royalty; a zero receiver removes it.
    /// @param receiver Royalty receiver, or zero to remove the default royalty.
    /// @param royaltyBps Royalty in basis points (ignored when `receiver` is zero); reverts above 10,000.
    function setDefaultRoyalty(address receiver, uint96 royaltyBps) external onlyEditionAdmin {
        if (receiver == address(0)) {
            _deleteDefaultRoyalty();
            royaltyBps = 0;
        } else {
            _setDefaultRoyalty(receiver, royaltyBps);
        }
        emit DefaultRoyaltyUpdated(receiver, royaltyBps);
    }

    /// @notice Sets `edition`'s own ERC-2981 royalty; a zero receiver falls back to the collection default.
    /// @param edition_ Existing edition (token id).
    /// @param receiver Royalty receiver, or zero to fall back to the collection default.
    /// @param royaltyBps Royalty in basis points (ignored when `receiver` is zero); reverts above 10,000.
    function setEditionRoyalty(uint256 edition_, address receiver, uint96 royaltyBps) external onlyEditionAdmin {
        _existingEdition(edition_);
        if (receiver == address(0)) {
            _resetTokenRoyalty(edition_);
            royaltyBps = 0;
        } else {
            _setTokenRoyalty(edition_, receiver, royaltyBps);
        }
        emit EditionRoyaltyUpdated(edition_, receiver, royaltyBps);
    }

    // ------------------------------------------------------------------------------------------------ ownership

    /// @notice Where the partner's proceeds go; zero restores the owner.
    /// @param recipient The new payout recipient, or zero for the owner. Admins only.
    function setPayoutRecipient(address recipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit PayoutRecipientUpdated(payoutRecipient(), recipient == address(0) ? _config.owner : recipient);
        _payoutRecipient = recipient;
    }

    /// @notice Hands the collection to `newOwner`, who becomes its only admin: every role granted before (admins,
    ///         edition admins, by anyone) ends, and the new owner grants again what it wants. Future proceeds go to
    ///         the new owner (any custom payout recipient is cleared), and so does everything not yet withdrawn:
    ///         the old owner should call {withdraw} first. Only the owner may call it; to itself, it just ends every
    ///         other role.
    /// @param newOwner The new owner (not zero).
    function transferOwnership(address newOwner) external {
        address previous = _config.owner;
        if (msg.sender != previous) revert NotOwner(msg.sender, previous);
        if (newOwner == address(0)) revert InvalidOwner(address(0));
        address previousRecipient = payoutRecipient();
        _config.owner = newOwner;
        delete _payoutRecipient;
        _startRoleTerm();
        if (newOwner != previous) {
            emit RoleRevoked(DEFAULT_ADMIN_ROLE, previous, msg.sender);
            emit RoleGranted(DEFAULT_ADMIN_ROLE, newOwner, msg.sender);
        }
        emit OwnershipTransferred(previous, newOwner);
        if (previousRecipient != newOwner) emit PayoutRecipientUpdated(previousRecipient, newOwner);
    }

    // ------------------------------------------------------------------------------------------------ views

    /// @notice The partner who owns the collection (for marketplaces).
    function owner() external view returns (address) {
        return _config.owner;
    }

    /// @notice Where the partner's proceeds are sent.
    function payoutRecipient() public view returns (address) {
        address recipient = _payoutRecipient;
        return recipient == address(0) ? _config.owner : recipient;
    }

    /// @notice The platform's share of every sale, in basis points; fixed at creation.
    function platformFeeBps() external view returns (uint256) {
        return _config.platformFeeBps;
    }

    /// @notice Whether the whole collection is paused.
    function paused() external view returns (bool) {
        return _config.paused;
    }

    /// @notice Number of editions; their ids run from 1 to this number.
    function editionCount() external view returns (uint256) {
        return _config.editionCount;
    }

    /// @notice The state of `edition`.
    /// @param edition_ Existing edition (token id).
    /// @return info Minted, max supply, referral share and flags (`paused` is the edition's own pause only).
    function edition(uint256 edition_) external view returns (EditionInfo memory info) {
        uint256 e = _existingEdition(edition_);
        info = EditionInfo({
            minted: e & U32,
            maxSupply: (e >> MAX_SUPPLY_SHIFT) & U32,
            referralBps: (e >> REFERRAL_SHIFT) & 0x3fff,
            paused: e & PAUSED_FLAG != 0,
            soulbound: e & SOULBOUND_FLAG != 0,
            redeemable: e & REDEEMABLE_FLAG != 0,
            uriFrozen: e & URI_FROZEN_FLAG != 0
        });
    }

    /// @notice Phase `phase` of `edition` (all zero if never set).
    /// @param edition_ Existing edition (token id).
    /// @param phase_ Phase index, 0 to 6.
    /// @return config The phase's window, price, wallet limit and allowlist root.
    function phase(uint256 edition_, uint256 phase_) external view returns (Phase memory config) {
        uint256 e = _existingEdition(edition_);
        uint256 p = phase_ == 0 ? e : _phaseWord(edition_, phase_);
        config = Phase({
            start: uint32(p >> START_SHIFT),
            end: uint32(p >> END_SHIFT),
            price: uint80(p >> PRICE_SHIFT),
            walletLimit: uint24(p >> WALLET_LIMIT_SHIFT),
            merkleRoot: _merkleRoots[edition_][phase_]
        });
    }

    /// @notice How many tokens of `edition` `account` received in phase `phase`.
    /// @param edition_ Edition (token id).
    /// @param phase_ Phase index, 0 to 6.
    /// @param account The recipient to look up.
    function mintedInPhase(uint256 edition_, uint256 phase_, address account) external view returns (uint256) {
        if (phase_ >= MAX_PHASES) revert UnknownPhase(edition_, phase_, MAX_PHASES);
        return (_packed[edition_][account] >> (32 * (phase_ + 1))) & U32;
    }

    /// @notice Whether voucher `voucherId` was used or cancelled.
    /// @param voucherId The voucher's `id`.
    function isVoucherUsed(uint256 voucherId) external view returns (bool) {
        return _usedVouchers[voucherId >> 8] & (1 << (voucherId & 0xff)) != 0;
    }

    /// @notice ERC-5633: whether tokens of `id` are soulbound (non-transferable).
    /// @param id Token id (edition).
    function isSoulbound(uint256 id) external view returns (bool) {
        return _editions[id] & SOULBOUND_FLAG != 0;
    }

    /// @inheritdoc PackedERC1155
    function uri(uint256 id) public view override returns (string memory) {
        return _uris[id];
    }

    /// @notice Collection metadata (ERC-7572).
    function contractURI() external view returns (string memory) {
        return _contractURI;
    }

    // The EIP-712 getter's conventional name (as in ERC-2612); renaming it would change the ABI.
    // solhint-disable func-name-mixedcase
    /// @notice The EIP-712 domain separator vouchers are signed under.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparator();
    }
    // solhint-enable func-name-mixedcase

    /// @inheritdoc IERC5267
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", EIP712_NAME, EIP712_VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// @inheritdoc PackedERC1155
    function supportsInterface(
        bytes4 interfaceId
    ) public view override(PackedERC1155, OwnerAccessControl, ERC2981) returns (bool) {
        return
            interfaceId == 0x911ec470 || // ERC-5633
            PackedERC1155.supportsInterface(interfaceId) ||
            OwnerAccessControl.supportsInterface(interfaceId) ||
            ERC2981.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------------------------------------ internals

    modifier onlyEditionAdmin() {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender) && !hasRole(EDITION_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, EDITION_ADMIN_ROLE);
        }
        _;
    }

    function _owner() internal view override returns (address) {
        return _config.owner;
    }

    /// @dev The shared body of phase sales. `e` is the edition word, `p` the phase word (the edition word for phase
    ///      0), `allowance` the allowlist cap (max for public phases).
    function _sell(
        uint256 edition_,
        uint256 phase_,
        uint256 e,
        uint256 p,
        address to,
        uint256 quantity,
        address referrer,
        uint256 allowance
    ) private {
        if (e & (EXISTS_FLAG | PAUSED_FLAG | COLLECTION_PAUSED_FLAG) != EXISTS_FLAG) e = _checkSaleable(edition_, e);
        {
            uint256 start = uint32(p >> START_SHIFT);
            uint256 end = uint32(p >> END_SHIFT);
            if (block.timestamp < start || block.timestamp >= end) {
                revert PhaseNotActive(edition_, phase_, start, end, block.timestamp);
            }
        }
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        _checkSupply(edition_, e, quantity);
        // quantity < 2^32 and price < 2^80 here: no overflow.
        uint256 cost = uint80(p >> PRICE_SHIFT) * quantity;
        if (msg.value != cost) revert WrongPayment(cost, msg.value);

        uint256 limit = uint24(p >> WALLET_LIMIT_SHIFT);
        if (limit == 0 || allowance < limit) limit = allowance;
        uint256 shift = 32 * (phase_ + 1);
        uint256 word = _packed[edition_][to];
        uint256 already = (word >> shift) & U32;
        if (already + quantity > limit) revert ExceedsWalletLimit(edition_, limit, already, quantity);
        unchecked {
            // minted + quantity <= maxSupply < 2^32, and a phase counter never exceeds minted: no carries.
            _editions[edition_] = e + quantity;
            _packed[edition_][to] = word + quantity + (quantity << shift);
        }
        if (referrer != address(0)) _creditReferrer(edition_, e, to, referrer);
        emit TransferSingle(msg.sender, address(0), to, edition_, quantity);
        emit Minted(edition_, to, referrer, msg.sender, phase_, quantity, msg.value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), to, edition_, quantity, "");
    }

    function _creditReferrer(uint256 edition_, uint256 e, address to, address referrer) private {
        if (referrer == to || referrer == msg.sender) revert SelfReferral(referrer);
        // None of these could ever withdraw a credit (zero already means "no referrer").
        if (referrer == address(this) || referrer == factory || referrer == _implementation) {
            revert InvalidReferrer(referrer);
        }
        uint256 reward = (msg.value * ((e >> REFERRAL_SHIFT) & 0x3fff)) / BPS;
        if (reward != 0) {
            _referralOwed[referrer] += reward;
            _referrals.credited += uint128(reward);
            emit ReferralCredited(referrer, edition_, reward);
        }
    }

    function _checkSupply(uint256 edition_, uint256 e, uint256 quantity) private pure {
        if (quantity == 0) revert ZeroQuantity();
        uint256 minted = e & U32;
        uint256 maxSupply = (e >> MAX_SUPPLY_SHIFT) & U32;
        if (quantity > maxSupply - minted) revert ExceedsMaxSupply(edition_, maxSupply, minted, quantity);
    }

    function _phaseWord(uint256 edition_, uint256 phase_) private view returns (uint256) {
        if (phase_ >= MAX_PHASES) revert UnknownPhase(edition_, phase_, MAX_PHASES);
        return _phaseWords[edition_][phase_];
    }

    /// @dev Validates and stores a phase; returns its packed fields (phase 0's are merged by the caller).
    function _storePhase(uint256 edition_, uint256 phase_, Phase calldata config) private returns (uint256 word) {
        if (config.end < config.start) revert InvalidPhaseWindow(config.start, config.end);
        word =
            (uint256(config.start) << START_SHIFT) |
            (uint256(config.end) << END_SHIFT) |
            (uint256(config.price) << PRICE_SHIFT) |
            (uint256(config.walletLimit) << WALLET_LIMIT_SHIFT);
        if (config.merkleRoot != bytes32(0)) word |= ALLOWLIST_FLAG;
        if (phase_ != 0) _phaseWords[edition_][phase_] = word;
        if (config.merkleRoot != _merkleRoots[edition_][phase_]) _merkleRoots[edition_][phase_] = config.merkleRoot;
        emit PhaseUpdated(
            edition_,
            phase_,
            config.start,
            config.end,
            config.price,
            config.walletLimit,
            config.merkleRoot
        );
    }

    function _existingEdition(uint256 edition_) private view returns (uint256 e) {
        e = _editions[edition_];
        if (e & EXISTS_FLAG == 0) revert UnknownEdition(edition_);
    }

    /// @dev The edition word (without a stale pause mirror bit), if the edition exists and neither it nor the
    ///      collection is paused.
    function _saleableEdition(uint256 edition_) private view returns (uint256 e) {
        e = _editions[edition_];
        if (e & (EXISTS_FLAG | PAUSED_FLAG | COLLECTION_PAUSED_FLAG) != EXISTS_FLAG) e = _checkSaleable(edition_, e);
    }

    /// @dev The slow path of the sale check, for an edition word with a flag set: reverts unless the edition exists
    ///      and is not paused; a collection-pause mirror bit left by {unpause} costs one read of the collection flag
    ///      and is dropped from the returned word, so a sale that writes the word back clears it.
    function _checkSaleable(uint256 edition_, uint256 e) private view returns (uint256) {
        if (e & EXISTS_FLAG == 0) revert UnknownEdition(edition_);
        if (e & COLLECTION_PAUSED_FLAG != 0) {
            if (_config.paused) revert CollectionPaused();
            e &= ~COLLECTION_PAUSED_FLAG;
        }
        if (e & PAUSED_FLAG != 0) revert EditionPaused(edition_);
        return e;
    }

    /// @dev Sets the collection-pause mirror bit in editions `from + 1` to `from + maxEditions` (at most the last),
    ///      records how far the pause is applied and says so; `config` is `_config` with `paused` about to be true.
    function _applyPause(Config memory config, uint256 from, uint256 maxEditions) private {
        uint256 count = config.editionCount;
        uint256 to = maxEditions < count - from ? from + maxEditions : count;
        for (uint256 id = from + 1; id <= to; ++id) {
            uint256 e = _editions[id];
            if (e & COLLECTION_PAUSED_FLAG == 0) _editions[id] = e | COLLECTION_PAUSED_FLAG;
        }
        config.paused = true;
        config.pauseApplied = uint32(to);
        _config = config;
        emit PauseApplied(to, count);
    }

    function _setFlag(uint256 edition_, uint256 flag, bool on) private {
        uint256 e = _existingEdition(edition_);
        _editions[edition_] = on ? e | flag : e & ~flag;
    }

    function _checkTransferable(uint256 id) internal view override {
        if (_editions[id] & SOULBOUND_FLAG != 0) revert Soulbound(id);
    }

    function _withdrawReferral(address referrer, address recipient) private {
        uint256 amount = _referralOwed[referrer];
        if (amount == 0) revert NothingToWithdraw();
        _referralOwed[referrer] = 0;
        _referrals.withdrawn += uint128(amount);
        _send(recipient, amount);
        emit ReferralWithdrawal(referrer, recipient, amount);
    }

    function _send(address recipient, uint256 amount) private {
        (bool ok, ) = recipient.call{value: amount}("");
        if (!ok) revert WithdrawalFailed(recipient, amount);
    }

    function _domainSeparator() private view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    DOMAIN_TYPEHASH,
                    keccak256(bytes(EIP712_NAME)),
                    keccak256(bytes(EIP712_VERSION)),
                    block.chainid,
                    address(this)
                )
            );
    }
}
