// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EditionFactory} from "../../../contracts/EditionFactory.sol";
import {Collection} from "../../../contracts/Collection.sol";
import {ICollectionTypes} from "../../../contracts/interfaces/ICollection.sol";
import {TestBase} from "./TestBase.sol";
import {DropHandler} from "./DropHandler.sol";

/// @notice Property-based tests of single operations with fuzzed inputs.
contract DropFuzzTest is TestBase {
    address internal constant PARTNER = address(0xBA7);
    address internal constant FEES = address(0xFEE);
    address internal constant BUYER = address(0xB0B);
    address internal constant REFERRER = address(0xCAFE);

    function _deploy(uint16 feeBps) internal returns (Collection collection) {
        EditionFactory factory = new EditionFactory(address(this), FEES, feeBps, address(0));
        vm.prank(PARTNER);
        collection = Collection(factory.createCollection("", address(0), 0, 1_000));
    }

    function _edition(
        Collection collection,
        uint32 maxSupply,
        uint16 referralBps,
        uint80 price,
        uint24 walletLimit
    ) internal returns (uint256 id) {
        ICollectionTypes.Phase[] memory phases = new ICollectionTypes.Phase[](3);
        for (uint256 i; i < 3; ++i) {
            phases[i] = ICollectionTypes.Phase(0, type(uint32).max, price, walletLimit, bytes32(0));
        }
        vm.prank(PARTNER);
        id = collection.createEdition(
            ICollectionTypes.EditionSettings(maxSupply, referralBps, false, false, address(0), 0, ""),
            phases
        );
    }

    /// @notice However sales are sized, minted never passes max supply and every accepted sale is booked.
    function testFuzz_mintNeverExceedsMaxSupply(uint32 maxSupply, uint256[6] memory quantities) public {
        maxSupply = uint32(bound(maxSupply, 1, type(uint32).max));
        Collection collection = _deploy(0);
        uint256 id = _edition(collection, maxSupply, 0, 0, 0);
        uint256 minted;
        for (uint256 i; i < quantities.length; ++i) {
            // Mostly near the remaining supply, sometimes anything at all.
            uint256 q = i % 2 == 0 ? bound(quantities[i], 1, uint256(maxSupply) + 2) : quantities[i];
            vm.prank(BUYER);
            try collection.mint(id, BUYER, q, i % 3, address(0)) {
                minted += q;
            } catch {}
            assertLe(minted, maxSupply, "minted > maxSupply");
        }
        assertEq(collection.edition(id).minted, minted, "booked minted");
        assertEq(collection.balanceOf(BUYER, id), minted, "balance");
        uint256 perPhase;
        for (uint256 p; p < 3; ++p) perPhase += collection.mintedInPhase(id, p, BUYER);
        assertEq(perPhase, minted, "phase counters add up to the balance");
    }

    /// @notice A holder's packed word keeps balance and phase counters apart under mints, transfers and burns.
    function testFuzz_packedCountersNeverBleed(
        uint24 limit,
        uint256[3] memory quantities,
        uint256 moved,
        uint256 burned
    ) public {
        limit = uint24(bound(limit, 1, type(uint24).max));
        Collection collection = _deploy(0);
        uint256 id = _edition(collection, type(uint32).max, 0, 0, limit);
        uint256 total;
        uint256[3] memory perPhase;
        for (uint256 p; p < 3; ++p) {
            uint256 q = bound(quantities[p], 1, limit);
            vm.prank(BUYER);
            collection.mint(id, BUYER, q, p, address(0));
            perPhase[p] = q;
            total += q;
        }
        moved = bound(moved, 0, total);
        vm.prank(BUYER);
        collection.safeTransferFrom(BUYER, REFERRER, id, moved, "");
        burned = bound(burned, 0, total - moved);
        vm.prank(BUYER);
        collection.burn(BUYER, id, burned);
        assertEq(collection.balanceOf(BUYER, id), total - moved - burned, "buyer balance");
        assertEq(collection.balanceOf(REFERRER, id), moved, "receiver balance");
        for (uint256 p; p < 3; ++p) {
            assertEq(collection.mintedInPhase(id, p, BUYER), perPhase[p], "counter changed");
            assertEq(collection.mintedInPhase(id, p, REFERRER), 0, "receiver counter");
        }
        // Exactly at the limit: one more is refused, in every phase.
        for (uint256 p; p < 3; ++p) {
            uint256 room = limit - perPhase[p];
            if (room != 0) {
                vm.prank(BUYER);
                collection.mint(id, BUYER, room, p, address(0));
            }
            vm.prank(BUYER);
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICollectionTypes.ExceedsWalletLimit.selector,
                    id,
                    uint256(limit),
                    uint256(limit),
                    1
                )
            );
            collection.mint(id, BUYER, 1, p, address(0));
        }
    }

    /// @notice Any fee, referral share, price and sale sizes: paid in = partner + platform + referral, to the wei,
    ///         and withdrawing everything leaves exactly zero.
    function testFuzz_feeSplitConservesFunds(
        uint16 feeBps,
        uint16 referralBps,
        uint80 price,
        uint8[4] memory quantities,
        uint8 referredMask
    ) public {
        feeBps = uint16(bound(feeBps, 0, 1_000));
        referralBps = uint16(bound(referralBps, 0, 5_000));
        price = uint80(bound(price, 0, 1_000 ether));
        Collection collection = _deploy(feeBps);
        uint256 id = _edition(collection, type(uint32).max, referralBps, price, 0);
        for (uint256 i; i < quantities.length; ++i) {
            _buy(
                collection,
                id,
                uint256(price) * bound(quantities[i], 1, 50),
                (referredMask >> i) & 1 == 1,
                referralBps
            );
        }
        uint256 paid = _paid;
        uint256 referral = _referral;
        uint256 platform = (paid * feeBps) / 10_000;
        assertEq(collection.platformBalance(), platform, "platform share");
        assertEq(collection.referralBalance(REFERRER), referral, "referral share");
        assertEq(collection.partnerBalance(), paid - platform - referral, "partner gets the rest");
        if (collection.partnerBalance() != 0) collection.withdraw();
        if (platform != 0) collection.withdrawPlatformFees();
        if (referral != 0) collection.withdrawReferralRewards(REFERRER);
        assertEq(address(collection).balance, 0, "dust left");
        assertEq(PARTNER.balance + FEES.balance + REFERRER.balance, paid, "paid out != paid in");
    }

    uint256 private _paid;
    uint256 private _referral;

    function _buy(Collection collection, uint256 id, uint256 cost, bool referred, uint256 referralBps) private {
        uint256 price = collection.phase(id, 0).price;
        vm.deal(BUYER, cost);
        vm.prank(BUYER);
        collection.mint{value: cost}(id, BUYER, price == 0 ? 1 : cost / price, 0, referred ? REFERRER : address(0));
        _paid += cost;
        if (referred) _referral += (cost * referralBps) / 10_000;
    }

    /// @notice The invariant handler's actions really succeed (so the invariants test something).
    function test_handlerActionsTakeEffect() public {
        EditionFactory factory = new EditionFactory(address(this), FEES, 750, vm.addr(0xA11CE));
        vm.prank(PARTNER);
        Collection collection = Collection(factory.createCollection("", address(0), 0, 1_000));
        address[] memory actors = new address[](3);
        for (uint256 i; i < actors.length; ++i) actors[i] = address(uint160(0xA000 + i));
        DropHandler handler = new DropHandler(collection, PARTNER, 0xA11CE, actors);
        ICollectionTypes.Phase[] memory phases = new ICollectionTypes.Phase[](2);
        phases[0] = ICollectionTypes.Phase(0, type(uint32).max, uint80(handler.PRICE()), 3, bytes32(0));
        phases[1] = ICollectionTypes.Phase(0, type(uint32).max, uint80(handler.PRICE()), 0, handler.allowlistRoot());
        vm.startPrank(PARTNER);
        for (uint256 i; i < 3; ++i) {
            collection.createEdition(
                ICollectionTypes.EditionSettings(30, 1_000, i == 1, true, address(0), 0, ""),
                phases
            );
        }
        vm.stopPrank();

        handler.mint(1, 0, 0, 1, 1); // actor 0 buys 2 of edition 1, referred by itself: refused (self-referral)
        handler.mint(1, 0, 0, 1, 0); // same without a referrer: booked
        assertEq(handler.ghostMinted(1), 2, "mint");
        handler.mintAllowlisted(1, 1, 2, false);
        assertEq(handler.ghostPhaseMinted(1, 1, actors[1]), 3, "allowlist mint");
        handler.mintAllowlisted(1, 1, 0, true); // lying about the allowance: refused
        assertEq(handler.ghostPhaseMinted(1, 1, actors[1]), 3, "allowlist lie refused");
        handler.mintWithVoucher(1, 2, 1, 0, 5, 123);
        handler.mintWithVoucher(1, 2, 1, 0, 5, 123); // the same voucher again: refused
        assertEq(handler.voucherUses(5), 1, "voucher once");
        handler.transfer(0, 1, 0, 1, false);
        assertEq(handler.ghostBalance(1, actors[1]), 4, "transfer");
        handler.mint(1, 0, 1, 0, 0); // soulbound edition 2 to actor 0
        handler.transfer(0, 1, 1, 1, true); // refused
        assertTrue(!handler.soulboundMoved(), "soulbound moved");
        handler.burnOrRedeem(0, 1, 1, true);
        assertEq(handler.ghostBalance(2, actors[0]), 0, "redeem");
        handler.withdraw(0, 0);
        handler.withdraw(1, 0);
        assertTrue(handler.withdrawn() > 0, "withdrawals");
        handler.lowerMaxSupply(0, 2);
        assertEq(collection.edition(1).maxSupply, 28, "supply cut");
        assertEq(handler.paidIn(), address(collection).balance + handler.withdrawn(), "books");

        handler.togglePause(0, true); // the collection is paused...
        handler.createEditions(2, 0); // ...and the partner creates 3 editions meanwhile
        assertEq(collection.editionCount(), 6, "editions created");
        (uint256 applied, uint256 editions) = collection.pauseProgress();
        assertEq(applied, editions, "pause complete");
        handler.togglePause(0, true);
        assertTrue(!collection.paused(), "unpaused");
        bytes32 editionAdmin = collection.EDITION_ADMIN_ROLE();
        handler.changeRole(0, 1, false, 0); // the partner makes actor 0 an edition admin
        assertTrue(collection.hasRole(editionAdmin, actors[0]), "role granted");
        handler.changeRole(1, 2, true, 0); // actor 0 may not make actor 1 an admin
        assertTrue(!collection.hasRole(bytes32(0), actors[1]), "grant by a non-admin refused");
        handler.transferOwnership(0, 2, false); // the partner hands the collection to actor 1
        assertTrue(collection.owner() == actors[1], "ownership moved");
        assertTrue(!collection.hasRole(editionAdmin, actors[0]), "the old term's role ended");
        assertTrue(handler.shouldHold(bytes32(0), actors[1]) && !handler.shouldHold(editionAdmin, actors[0]), "ghost");
        assertTrue(bytes(handler.brokenRoleRule()).length == 0, handler.brokenRoleRule());
    }
}
