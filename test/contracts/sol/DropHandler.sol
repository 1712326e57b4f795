// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Collection} from "../../../contracts/Collection.sol";
import {EditionFactory} from "../../../contracts/EditionFactory.sol";
import {ICollectionTypes} from "../../../contracts/interfaces/ICollection.sol";
import {Vm} from "./TestBase.sol";

/// @notice Drives a collection through arbitrary sequences of sales, vouchers, transfers, burns, redemptions,
///         supply cuts, withdrawals, pauses, new editions, role grants and revocations and transfers of ownership
///         from arbitrary senders, keeping ghost books of what should be true.
contract DropHandler {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    Collection public immutable collection;
    address public immutable partner;
    uint256 public immutable signerKey;

    uint256 public constant PRICE = 7_777; // odd on purpose: fee and referral shares round
    uint256 public constant LIMITED = 1; // phase 0: wallet limit 3; phase 1: allowlist, limit = allowance
    uint256 public constant SOULBOUND = 2; // phase 0: no wallet limit; referral 15%
    uint256 public constant OPEN = 3; // phase 0: no wallet limit; redeemable; referral 50%
    uint256 public constant WALLET_LIMIT = 3;
    uint256 public constant VOUCHER_IDS = 16;

    address[] public actors;
    address[2] public listed;
    uint256[2] public allowances;
    bytes32[2] public leaves;

    // Ghost books.
    uint256 public paidIn;
    uint256 public withdrawn;
    bool public soulboundMoved;
    /// @notice Set if a sale or redemption ever succeeded while the collection or its edition was paused.
    bool public actedWhilePaused;
    bool public collectionPaused;
    mapping(uint256 edition => bool) public editionPaused;
    mapping(uint256 edition => uint256) public ghostMinted;
    mapping(uint256 edition => mapping(address => uint256)) public ghostBalance;
    mapping(uint256 edition => mapping(uint256 phase => mapping(address => uint256))) public ghostPhaseMinted;
    mapping(uint256 voucherId => uint256) public voucherUses;
    mapping(bytes4 => uint256) public calls;
    /// @notice Ownership terms: each transfer of ownership starts a new one; roles are booked per term.
    uint256 public ownershipTerm;
    mapping(uint256 term => mapping(bytes32 role => mapping(address => bool))) public grantedInTerm;
    bytes32 public constant EDITION_ADMIN_ROLE = keccak256("EDITION_ADMIN_ROLE");
    /// @notice Set if a role or ownership change succeeded that the rules forbid (reverting here would be ignored).
    string public brokenRoleRule;

    constructor(Collection collection_, address partner_, uint256 signerKey_, address[] memory actors_) {
        collection = collection_;
        partner = partner_;
        signerKey = signerKey_;
        actors = actors_;
        listed = [actors_[0], actors_[1]];
        allowances = [uint256(2), uint256(4)];
        leaves[0] = keccak256(bytes.concat(keccak256(abi.encode(listed[0], allowances[0]))));
        leaves[1] = keccak256(bytes.concat(keccak256(abi.encode(listed[1], allowances[1]))));
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function allowlistRoot() external view returns (bytes32) {
        (bytes32 a, bytes32 b) = leaves[0] < leaves[1] ? (leaves[0], leaves[1]) : (leaves[1], leaves[0]);
        return keccak256(abi.encodePacked(a, b));
    }

    /// @dev Any address at all as a sender (most have never been seen), or one of the actors.
    function _sender(uint256 seed) private returns (address sender) {
        sender = seed % 3 == 0 ? address(uint160(uint256(keccak256(abi.encode("sender", seed))))) : _actor(seed >> 2);
        vm.deal(sender, 1 ether);
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }

    function _edition(uint256 seed) private pure returns (uint256) {
        return 1 + (seed % 3);
    }

    /// @dev The partner or one of the actors: the accounts roles and ownership move between.
    function _member(uint256 seed) private view returns (address) {
        return seed % (actors.length + 1) == 0 ? partner : actors[(seed % (actors.length + 1)) - 1];
    }

    function _role(bool admin) private pure returns (bytes32) {
        return admin ? bytes32(0) : EDITION_ADMIN_ROLE;
    }

    /// @notice Whether `account` should hold `role` now: the owner is always the admin; anything else only if it
    ///         was granted (and not revoked) in the current ownership term.
    function shouldHold(bytes32 role, address account) external view returns (bool) {
        return (role == bytes32(0) && account == collection.owner()) || grantedInTerm[ownershipTerm][role][account];
    }

    function mint(
        uint256 senderSeed,
        uint256 recipientSeed,
        uint256 editionSeed,
        uint256 quantity,
        uint256 referrerSeed
    ) external {
        calls[this.mint.selector]++;
        address sender = _sender(senderSeed);
        address to = _actor(recipientSeed);
        uint256 id = _edition(editionSeed);
        quantity = 1 + (quantity % 5);
        address referrer = referrerSeed % 2 == 0 ? address(0) : _actor(referrerSeed >> 1);
        uint256 cost = PRICE * quantity;
        vm.prank(sender);
        try collection.mint{value: cost}(id, to, quantity, 0, referrer) {
            _checkNotPaused(id);
            paidIn += cost;
            _booked(id, 0, to, quantity);
        } catch {}
    }

    function mintAllowlisted(uint256 senderSeed, uint256 which, uint256 quantity, bool lie) external {
        calls[this.mintAllowlisted.selector]++;
        address sender = _sender(senderSeed);
        which %= 2;
        quantity = 1 + (quantity % 3);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = leaves[1 - which];
        uint256 allowance = allowances[which] + (lie ? 1 : 0);
        vm.prank(sender);
        try
            collection.mintAllowlisted{value: PRICE * quantity}(
                LIMITED,
                listed[which],
                quantity,
                1,
                address(0),
                allowance,
                proof
            )
        {
            _checkNotPaused(LIMITED);
            paidIn += PRICE * quantity;
            _booked(LIMITED, 1, listed[which], quantity);
        } catch {}
    }

    function mintWithVoucher(
        uint256 senderSeed,
        uint256 recipientSeed,
        uint256 editionSeed,
        uint256 quantity,
        uint256 voucherId,
        uint256 price
    ) external {
        calls[this.mintWithVoucher.selector]++;
        address sender = _sender(senderSeed);
        ICollectionTypes.MintVoucher memory v = ICollectionTypes.MintVoucher({
            recipient: _actor(recipientSeed),
            edition: _edition(editionSeed),
            quantity: 1 + (quantity % 4),
            price: price % 100_000,
            id: voucherId % VOUCHER_IDS,
            deadline: block.timestamp + 1 hours,
            signerEpoch: EditionFactory(collection.factory()).voucherSignerEpoch(vm.addr(signerKey))
        });
        bytes32 structHash = keccak256(
            abi.encode(
                collection.MINT_VOUCHER_TYPEHASH(),
                v.recipient,
                v.edition,
                v.quantity,
                v.price,
                v.id,
                v.deadline,
                v.signerEpoch
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", collection.DOMAIN_SEPARATOR(), structHash));
        (uint8 sv, bytes32 r, bytes32 s) = vm.sign(signerKey, digest);
        vm.prank(sender);
        try collection.mintWithVoucher{value: v.price}(v, block.chainid, abi.encodePacked(r, s, sv)) {
            _checkNotPaused(v.edition);
            paidIn += v.price;
            voucherUses[v.id]++;
            ghostMinted[v.edition] += v.quantity;
            ghostBalance[v.edition][v.recipient] += v.quantity;
        } catch {}
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 editionSeed, uint256 amount, bool batch) external {
        calls[this.transfer.selector]++;
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        uint256 id = _edition(editionSeed);
        amount = amount % 4;
        vm.prank(from);
        bool ok;
        if (batch) {
            uint256[] memory ids = new uint256[](1);
            uint256[] memory values = new uint256[](1);
            ids[0] = id;
            values[0] = amount;
            try collection.safeBatchTransferFrom(from, to, ids, values, "") {
                ok = true;
            } catch {}
        } else {
            try collection.safeTransferFrom(from, to, id, amount, "") {
                ok = true;
            } catch {}
        }
        if (ok) {
            if (id == SOULBOUND && amount != 0 && from != to) soulboundMoved = true;
            ghostBalance[id][from] -= amount;
            ghostBalance[id][to] += amount;
        }
    }

    function burnOrRedeem(uint256 holderSeed, uint256 editionSeed, uint256 amount, bool redeem) external {
        calls[this.burnOrRedeem.selector]++;
        address holder = _actor(holderSeed);
        uint256 id = _edition(editionSeed);
        amount = amount % 3;
        vm.prank(holder);
        bool ok;
        if (redeem) {
            try collection.redeem(holder, id, amount, bytes32(amount)) {
                _checkNotPaused(id);
                ok = true;
            } catch {}
        } else {
            try collection.burn(holder, id, amount) {
                ok = true;
            } catch {}
        }
        if (ok) ghostBalance[id][holder] -= amount;
    }

    function lowerMaxSupply(uint256 editionSeed, uint256 cut) external {
        calls[this.lowerMaxSupply.selector]++;
        uint256 id = _edition(editionSeed);
        ICollectionTypes.EditionInfo memory info = collection.edition(id);
        uint256 target = info.maxSupply - (cut % 3);
        vm.prank(collection.owner());
        try collection.setMaxSupply(id, target) {} catch {}
    }

    /// @notice Pauses or resumes the collection, or one edition, as the owner.
    function togglePause(uint256 editionSeed, bool wholeCollection) external {
        calls[this.togglePause.selector]++;
        vm.startPrank(collection.owner());
        if (wholeCollection) {
            if (collectionPaused) collection.unpause();
            else collection.pause();
            collectionPaused = !collectionPaused;
        } else {
            uint256 id = _edition(editionSeed);
            editionPaused[id] = !editionPaused[id];
            collection.setEditionPaused(id, editionPaused[id]);
        }
        vm.stopPrank();
    }

    /// @notice Creates 1 to 8 more editions as an edition admin or the owner, paused or not: a pause must stay
    ///         reversible in bounded gas however many there are. They are not sold by the other actions.
    function createEditions(uint256 count, uint256 creatorSeed) external {
        calls[this.createEditions.selector]++;
        address creator = _member(creatorSeed);
        ICollectionTypes.Phase[] memory phases = new ICollectionTypes.Phase[](1);
        phases[0] = ICollectionTypes.Phase(0, type(uint32).max, uint80(PRICE), 0, bytes32(0));
        ICollectionTypes.EditionSettings memory settings = ICollectionTypes.EditionSettings(
            1_000,
            0,
            false,
            false,
            address(0),
            0,
            ""
        );
        for (uint256 i; i < 1 + (count % 8); ++i) {
            vm.prank(creator);
            try collection.createEdition(settings, phases) {} catch {}
        }
    }

    /// @notice Someone (the owner, an admin or not) grants or revokes a role of one of the members, or a member
    ///         renounces its own.
    function changeRole(uint256 callerSeed, uint256 accountSeed, bool admin, uint256 action) external {
        calls[this.changeRole.selector]++;
        address caller = _member(callerSeed);
        address account = _member(accountSeed);
        bytes32 role = _role(admin);
        bool callerIsAdmin = collection.hasRole(bytes32(0), caller);
        action %= 3;
        vm.prank(caller);
        if (action == 0) {
            try collection.grantRole(role, account) {
                if (!callerIsAdmin) brokenRoleRule = "granted by a non-admin";
                if (!(role == bytes32(0) && account == collection.owner()))
                    grantedInTerm[ownershipTerm][role][account] = true;
            } catch {}
        } else if (action == 1) {
            try collection.revokeRole(role, account) {
                if (!callerIsAdmin) brokenRoleRule = "revoked by a non-admin";
                if (role == bytes32(0) && account == collection.owner()) brokenRoleRule = "owner's admin role revoked";
                grantedInTerm[ownershipTerm][role][account] = false;
            } catch {}
        } else {
            try collection.renounceRole(role, caller) {
                if (role == bytes32(0) && caller == collection.owner())
                    brokenRoleRule = "owner renounced its admin role";
                grantedInTerm[ownershipTerm][role][caller] = false;
            } catch {}
        }
    }

    /// @notice The owner (or, refused, anyone else) hands the collection to one of the members.
    function transferOwnership(uint256 callerSeed, uint256 toSeed, bool asOwner) external {
        calls[this.transferOwnership.selector]++;
        address caller = asOwner ? collection.owner() : _member(callerSeed);
        address to = _member(toSeed);
        bool isOwner = caller == collection.owner();
        vm.prank(caller);
        try collection.transferOwnership(to) {
            if (!isOwner) brokenRoleRule = "ownership taken by a non-owner";
            ++ownershipTerm;
        } catch {}
    }

    function withdraw(uint256 which, uint256 referrerSeed) external {
        calls[this.withdraw.selector]++;
        uint256 before = address(collection).balance;
        which %= 3;
        if (which == 0) {
            try collection.withdraw() {} catch {}
        } else if (which == 1) {
            try collection.withdrawPlatformFees() {} catch {}
        } else {
            try collection.withdrawReferralRewards(_actor(referrerSeed)) {} catch {}
        }
        withdrawn += before - address(collection).balance;
    }

    function _checkNotPaused(uint256 id) private {
        if (collectionPaused || editionPaused[id]) actedWhilePaused = true;
    }

    function _booked(uint256 id, uint256 phase, address to, uint256 quantity) private {
        ghostMinted[id] += quantity;
        ghostBalance[id][to] += quantity;
        ghostPhaseMinted[id][phase][to] += quantity;
    }
}
