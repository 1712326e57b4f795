// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EditionFactory} from "../../../contracts/EditionFactory.sol";
import {Collection} from "../../../contracts/Collection.sol";
import {ICollectionTypes} from "../../../contracts/interfaces/ICollection.sol";
import {TestBase} from "./TestBase.sol";
import {DropHandler} from "./DropHandler.sol";

/// @notice Invariants of a live drop under arbitrary sequences of calls (see {DropHandler}).
contract DropInvariantsTest is TestBase {
    EditionFactory internal factory;
    Collection internal collection;
    DropHandler internal handler;
    address internal constant PARTNER = address(0xBA7);
    address internal constant FEES = address(0xFEE);
    uint256 internal constant SIGNER_KEY = 0xA11CE;

    function setUp() public {
        factory = new EditionFactory(address(this), FEES, 750, vm.addr(SIGNER_KEY));
        vm.prank(PARTNER);
        collection = Collection(factory.createCollection("ipfs://c", address(0), 0, 750));
        address[] memory actors = new address[](5);
        for (uint256 i; i < actors.length; ++i) actors[i] = address(uint160(0xA000 + i));
        handler = new DropHandler(collection, PARTNER, SIGNER_KEY, actors);
        uint256 price = handler.PRICE();

        ICollectionTypes.Phase[] memory phases = new ICollectionTypes.Phase[](2);
        phases[0] = ICollectionTypes.Phase(0, type(uint32).max, uint80(price), 3, bytes32(0));
        phases[1] = ICollectionTypes.Phase(0, type(uint32).max, uint80(price), 0, handler.allowlistRoot());
        vm.startPrank(PARTNER);
        collection.createEdition(_settings(12, 0, false, false), phases);
        ICollectionTypes.Phase[] memory open = new ICollectionTypes.Phase[](1);
        open[0] = ICollectionTypes.Phase(0, type(uint32).max, uint80(price), 0, bytes32(0));
        collection.createEdition(_settings(10, 1_500, true, true), open);
        collection.createEdition(_settings(14, 5_000, false, true), open);
        vm.stopPrank();

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = DropHandler.mint.selector;
        selectors[1] = DropHandler.mintAllowlisted.selector;
        selectors[2] = DropHandler.mintWithVoucher.selector;
        selectors[3] = DropHandler.transfer.selector;
        selectors[4] = DropHandler.burnOrRedeem.selector;
        selectors[5] = DropHandler.lowerMaxSupply.selector;
        selectors[6] = DropHandler.withdraw.selector;
        selectors[7] = DropHandler.togglePause.selector;
        selectors[8] = DropHandler.createEditions.selector;
        selectors[9] = DropHandler.changeRole.selector;
        selectors[10] = DropHandler.transferOwnership.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function _settings(
        uint32 maxSupply,
        uint16 referralBps,
        bool soulbound,
        bool redeemable
    ) private pure returns (ICollectionTypes.EditionSettings memory) {
        return
            ICollectionTypes.EditionSettings(maxSupply, referralBps, soulbound, redeemable, address(0), 0, "ipfs://e");
    }

    /// @notice Total minted per edition never exceeds max supply, and equals what the handler saw minted.
    function invariant_mintedNeverExceedsMaxSupply() public view {
        for (uint256 id = 1; id <= 3; ++id) {
            ICollectionTypes.EditionInfo memory info = collection.edition(id);
            assertLe(info.minted, info.maxSupply, "minted > maxSupply");
            assertEq(info.minted, handler.ghostMinted(id), "minted != ghost");
        }
    }

    /// @notice No wallet ever received more than its limit in a phase, whoever sent the transactions.
    function invariant_walletLimitsHold() public view {
        uint256 limited = handler.LIMITED();
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actors(i);
            uint256 inPublic = collection.mintedInPhase(limited, 0, actor);
            assertLe(inPublic, handler.WALLET_LIMIT(), "public phase limit");
            assertEq(inPublic, handler.ghostPhaseMinted(limited, 0, actor), "public counter != ghost");
            uint256 inAllowlist = collection.mintedInPhase(limited, 1, actor);
            assertEq(inAllowlist, handler.ghostPhaseMinted(limited, 1, actor), "allowlist counter != ghost");
        }
        for (uint256 w; w < 2; ++w) {
            assertLe(collection.mintedInPhase(limited, 1, handler.listed(w)), handler.allowances(w), "allowance");
        }
    }

    /// @notice Funds are conserved: what the parties are owed equals what the contract holds, and everything paid
    ///         in is either held or was withdrawn.
    function invariant_fundsConserved() public view {
        uint256 owed = collection.partnerBalance() + collection.platformBalance();
        for (uint256 i; i < handler.actorCount(); ++i) owed += collection.referralBalance(handler.actors(i));
        assertEq(owed, address(collection).balance, "owed != held");
        assertEq(handler.paidIn(), address(collection).balance + handler.withdrawn(), "paid != held + withdrawn");
        assertEq(collection.totalReceived(), handler.paidIn(), "totalReceived != paid");
    }

    /// @notice Soulbound tokens never move between holders: balances change only by mints and burns.
    function invariant_soulboundNeverMoves() public view {
        assertTrue(!handler.soulboundMoved(), "a soulbound token was transferred");
        uint256 id = handler.SOULBOUND();
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actors(i);
            assertEq(collection.balanceOf(actor, id), handler.ghostBalance(id, actor), "soulbound balance");
        }
    }

    /// @notice Every balance is what the handler's books say (packed counters never leak into balances).
    function invariant_balancesMatchBooks() public view {
        for (uint256 id = 1; id <= 3; ++id) {
            for (uint256 i; i < handler.actorCount(); ++i) {
                address actor = handler.actors(i);
                assertEq(collection.balanceOf(actor, id), handler.ghostBalance(id, actor), "balance != ghost");
            }
        }
    }

    /// @notice Nothing is sold or redeemed while the collection or the edition is paused, and the collection-wide
    ///         pause mirrored into edition words always agrees with the collection's flag.
    function invariant_pausesHold() public view {
        assertTrue(!handler.actedWhilePaused(), "acted while paused");
        assertTrue(collection.paused() == handler.collectionPaused(), "collection pause flag");
        for (uint256 id = 1; id <= 3; ++id) {
            assertTrue(collection.edition(id).paused == handler.editionPaused(id), "edition pause flag");
        }
    }

    /// @notice Gas an unpause may take, whatever the number of editions (it is constant: ~30,000).
    uint256 internal constant UNPAUSE_GAS_BOUND = 60_000;

    error UnpauseProbe(uint256 gasUsed, bool stillPaused);

    /// @notice The owner can always unpause in bounded gas: however many editions exist (some created while
    ///         paused), an unpause within {UNPAUSE_GAS_BOUND} succeeds and afterwards no edition refuses a sale for
    ///         a collection pause. Probed in a call that reverts, so the run's state is untouched.
    function invariant_ownerCanAlwaysUnpauseInBoundedGas() public {
        if (!collection.paused()) return;
        try this.probeUnpause() {
            assertTrue(false, "the probe must revert");
        } catch (bytes memory result) {
            assertTrue(
                result.length == 68 && bytes4(result) == UnpauseProbe.selector,
                "unpause failed within the bound"
            );
            uint256 gasUsed;
            bool stillPaused;
            assembly ("memory-safe") {
                gasUsed := mload(add(result, 36))
                stillPaused := mload(add(result, 68))
            }
            assertLe(gasUsed, UNPAUSE_GAS_BOUND, "unpause gas");
            assertTrue(!stillPaused, "an edition still refuses sales for the collection pause");
        }
    }

    /// @dev Unpauses as the owner within the gas bound, tries a sale of every edition, and reverts with the result.
    function probeUnpause() external {
        address owner = collection.owner();
        vm.prank(owner);
        uint256 before = gasleft();
        collection.unpause{gas: UNPAUSE_GAS_BOUND}();
        uint256 used = before - gasleft();
        bool stillPaused = collection.paused();
        uint256 price = handler.PRICE();
        address buyer = address(0xB0B0);
        for (uint256 id = 1; id <= collection.editionCount(); ++id) {
            vm.deal(buyer, price);
            vm.prank(buyer);
            try collection.mint{value: price}(id, buyer, 1, 0, address(0)) {} catch (bytes memory reason) {
                if (reason.length >= 4 && bytes4(reason) == ICollectionTypes.CollectionPaused.selector)
                    stillPaused = true;
            }
        }
        revert UnpauseProbe(used, stillPaused);
    }

    /// @notice After any transfers of ownership, only roles granted under the current owner are in force: the
    ///         owner is an admin, every other member was granted its role (by whoever could) since the last
    ///         transfer and not revoked, and the on-chain lists say exactly that.
    function invariant_onlyRolesGrantedUnderCurrentOwner() public view {
        assertTrue(bytes(handler.brokenRoleRule()).length == 0, handler.brokenRoleRule());
        address owner = collection.owner();
        bytes32[2] memory roles = [bytes32(0), collection.EDITION_ADMIN_ROLE()];
        address[] memory members = new address[](handler.actorCount() + 1);
        members[0] = PARTNER;
        for (uint256 i; i < handler.actorCount(); ++i) members[i + 1] = handler.actors(i);
        for (uint256 r; r < 2; ++r) {
            uint256 held;
            for (uint256 m; m < members.length; ++m) {
                bool has = collection.hasRole(roles[r], members[m]);
                assertTrue(
                    has == handler.shouldHold(roles[r], members[m]),
                    "a role in force that was not granted under this owner"
                );
                if (has) ++held;
            }
            assertEq(collection.getRoleMemberCount(roles[r]), held, "listed members");
            for (uint256 i; i < held; ++i) {
                assertTrue(handler.shouldHold(roles[r], collection.getRoleMember(roles[r], i)), "listed member");
            }
        }
        assertTrue(collection.getRoleMember(bytes32(0), 0) == owner, "the owner is listed first");
    }

    /// @notice A voucher id is used at most once, and is marked used exactly when it was.
    function invariant_vouchersSingleUse() public view {
        for (uint256 v; v < handler.VOUCHER_IDS(); ++v) {
            uint256 uses = handler.voucherUses(v);
            assertLe(uses, 1, "voucher used twice");
            assertTrue(collection.isVoucherUsed(v) == (uses == 1), "used flag");
        }
    }
}
