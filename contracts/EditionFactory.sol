// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Collection} from "./Collection.sol";

/// @title EditionFactory
/// @author Perkmint
/// @notice The platform's entry point: deploys each partner's {Collection} as an ERC-1167 clone of one
///         implementation, and holds the platform settings collections read: the fee (snapshotted into each new
///         collection), the fee recipient (read when fees are withdrawn) and the voucher signers (read when a
///         voucher is used).
contract EditionFactory is AccessControl {
    /// @notice Accounts whose EIP-712 mint vouchers every collection accepts.
    bytes32 public constant VOUCHER_SIGNER_ROLE = keccak256("VOUCHER_SIGNER_ROLE");
    /// @notice The platform fee cap: 10%.
    uint16 public constant MAX_PLATFORM_FEE_BPS = 1_000;

    /// @notice The {Collection} implementation every clone delegates to (deployed by this factory).
    address public immutable implementation;

    /// @notice Receives the platform's fees when collections' fees are withdrawn.
    address public feeRecipient;
    /// @notice The fee, in basis points, that new collections take on every sale.
    uint16 public platformFeeBps;

    /// @dev Per account: `epoch << 1 | isSigner`, where the epoch counts the grants of VOUCHER_SIGNER_ROLE to it.
    ///      One word, so a voucher mint reads one slot here, as a role check would.
    mapping(address signer => uint256 state) private _signerStates;

    /// @notice A new collection; the indexer discovers collections from this event.
    /// @param collection The new clone's address.
    /// @param owner Its owner: the caller of {createCollection}.
    /// @param contractURI Its collection metadata URI (ERC-7572).
    /// @param platformFeeBps The platform fee it takes on every sale, fixed for its life.
    event CollectionCreated(
        address indexed collection,
        address indexed owner,
        string contractURI,
        uint256 platformFeeBps
    );
    /// @notice The fee for new collections changed (existing collections keep theirs).
    /// @param previousFeeBps The fee before, in basis points (zero at deployment).
    /// @param newFeeBps The fee now, in basis points.
    event PlatformFeeUpdated(uint256 previousFeeBps, uint256 newFeeBps);
    /// @notice Where platform fees are sent changed (for every collection, from its next withdrawal).
    /// @param previousRecipient The recipient before (zero at deployment).
    /// @param newRecipient The recipient now.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);
    /// @notice `signer` was granted VOUCHER_SIGNER_ROLE and signs in `epoch` until the role is revoked.
    /// @param signer The new voucher signer.
    /// @param epoch The epoch its vouchers must carry (`MintVoucher.signerEpoch`).
    event VoucherSignerEpochStarted(address indexed signer, uint256 epoch);

    /// @notice `feeBps` is above the platform fee cap `maxFeeBps` ({MAX_PLATFORM_FEE_BPS}).
    error InvalidPlatformFee(uint256 feeBps, uint256 maxFeeBps);
    /// @notice The fee recipient cannot be the zero address.
    error InvalidFeeRecipient(address recipient);
    /// @notice The platform admin cannot be the zero address.
    error InvalidAdmin(address admin);
    /// @notice The platform fee is above the highest the collection's creator accepts.
    error PlatformFeeAboveMax(uint256 feeBps, uint256 maxFeeBps);

    /// @notice Deploys the {Collection} implementation and sets the platform's admin, fee and first signer.
    ///         Reverts if `admin` or `feeRecipient_` is zero or the fee is above the cap.
    /// @param admin Platform admin (DEFAULT_ADMIN_ROLE): sets the fee and recipient, grants voucher signers.
    /// @param feeRecipient_ Receives platform fees.
    /// @param platformFeeBps_ Fee for new collections, at most {MAX_PLATFORM_FEE_BPS}.
    /// @param voucherSigner Initial voucher signer, or zero for none.
    constructor(address admin, address feeRecipient_, uint16 platformFeeBps_, address voucherSigner) {
        if (admin == address(0)) revert InvalidAdmin(address(0));
        implementation = address(new Collection());
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (voucherSigner != address(0)) _grantRole(VOUCHER_SIGNER_ROLE, voucherSigner);
        _setFeeRecipient(feeRecipient_);
        _setPlatformFee(platformFeeBps_);
    }

    /// @notice Creates a collection owned by the caller, taking the current platform fee for its whole life.
    /// @param contractURI_ Collection metadata URI (ERC-7572).
    /// @param royaltyReceiver Default ERC-2981 royalty receiver, or zero for none.
    /// @param royaltyBps Default royalty, in basis points.
    /// @param maxPlatformFeeBps The highest platform fee the caller accepts: a fee change that lands first makes
    ///        the call revert instead of being taken silently.
    /// @return collection The new collection's address.
    function createCollection(
        string calldata contractURI_,
        address royaltyReceiver,
        uint96 royaltyBps,
        uint256 maxPlatformFeeBps
    ) external returns (address collection) {
        uint16 feeBps = platformFeeBps;
        if (feeBps > maxPlatformFeeBps) revert PlatformFeeAboveMax(feeBps, maxPlatformFeeBps);
        collection = Clones.clone(implementation);
        Collection(collection).initialize(msg.sender, contractURI_, royaltyReceiver, royaltyBps, feeBps);
        emit CollectionCreated(collection, msg.sender, contractURI_, feeBps);
    }

    /// @notice The epoch `signer` signs vouchers in, or zero if it is not a voucher signer. Vouchers carry it
    ///         (`MintVoucher.signerEpoch`) and are valid only while it is current: revoking the role ends it, and a
    ///         new grant starts a new one, so vouchers signed before a revocation stay dead.
    /// @param signer The account to look up.
    function voucherSignerEpoch(address signer) external view returns (uint256) {
        uint256 state = _signerStates[signer];
        return state & 1 == 0 ? 0 : state >> 1;
    }

    /// @notice Sets the fee new collections take (existing collections keep theirs). Platform admin only.
    /// @param feeBps The new fee in basis points; reverts above {MAX_PLATFORM_FEE_BPS}.
    function setPlatformFee(uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setPlatformFee(feeBps);
    }

    /// @notice Sets where platform fees are sent (for every collection, from the next withdrawal). Platform admin
    ///         only.
    /// @param recipient The new fee recipient; reverts if zero.
    function setFeeRecipient(address recipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeRecipient(recipient);
    }

    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == VOUCHER_SIGNER_ROLE) {
            uint256 epoch = (_signerStates[account] >> 1) + 1;
            _signerStates[account] = (epoch << 1) | 1;
            emit VoucherSignerEpochStarted(account, epoch);
        }
    }

    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == VOUCHER_SIGNER_ROLE) _signerStates[account] &= ~uint256(1);
    }

    function _setPlatformFee(uint16 feeBps) private {
        if (feeBps > MAX_PLATFORM_FEE_BPS) revert InvalidPlatformFee(feeBps, MAX_PLATFORM_FEE_BPS);
        emit PlatformFeeUpdated(platformFeeBps, feeBps);
        platformFeeBps = feeBps;
    }

    function _setFeeRecipient(address recipient) private {
        if (recipient == address(0)) revert InvalidFeeRecipient(address(0));
        emit FeeRecipientUpdated(feeRecipient, recipient);
        feeRecipient = recipient;
    }
}
