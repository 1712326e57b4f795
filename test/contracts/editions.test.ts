import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, parseEther, toBytes, zeroAddress, zeroHash } from "viem";
import { deployDrop, editionSettings, phase, PRICE } from "./fixture.ts";

const { viem, networkHelpers } = await network.create();
const fixture = () => deployDrop(viem);
const EDITION_ADMIN_ROLE = keccak256(toBytes("EDITION_ADMIN_ROLE"));
const DEFAULT_ADMIN_ROLE = zeroHash;
const root = keccak256(toBytes("some allowlist"));

describe("Collection: editions and settings", () => {
  describe("createEdition", () => {
    it("creates sequential ids with their settings and phases, emitting every event", async () => {
      const { collection, partner } = await networkHelpers.loadFixture(fixture);
      const settings = editionSettings({
        maxSupply: 500,
        referralBps: 250,
        soulbound: true,
        redeemable: true,
        royaltyReceiver: partner.account.address,
        royaltyBps: 750n,
        uri: "ipfs://one.json",
      });
      const phases = [
        phase({ walletLimit: 3 }),
        phase({ start: 10, end: 20, price: 7n, walletLimit: 2, merkleRoot: root }),
      ];
      const tx = collection.write.createEdition([settings, phases]);
      await viem.assertions.emitWithArgs(tx, collection, "EditionCreated", [1n, 500n, true, true, 250n]);
      await viem.assertions.emitWithArgs(tx, collection, "URI", ["ipfs://one.json", 1n]);
      await viem.assertions.emitWithArgs(tx, collection, "PhaseUpdated", [1n, 1n, 10n, 20n, 7n, 2n, root]);
      await viem.assertions.emitWithArgs(tx, collection, "EditionRoyaltyUpdated", [
        1n,
        getAddress(partner.account.address),
        750n,
      ]);
      expect(await collection.read.editionCount()).to.equal(1n);
      expect(await collection.read.edition([1n])).to.deep.equal({
        minted: 0n,
        maxSupply: 500n,
        referralBps: 250n,
        paused: false,
        soulbound: true,
        redeemable: true,
        uriFrozen: false,
      });
      expect(await collection.read.phase([1n, 0n])).to.deep.equal(phases[0]);
      expect(await collection.read.phase([1n, 1n])).to.deep.equal(phases[1]);
      expect(await collection.read.phase([1n, 6n])).to.deep.equal({
        start: 0,
        end: 0,
        price: 0n,
        walletLimit: 0,
        merkleRoot: zeroHash,
      });
      expect(await collection.read.uri([1n])).to.equal("ipfs://one.json");
      expect(await collection.read.isSoulbound([1n])).to.equal(true);
      expect(await collection.read.royaltyInfo([1n, 10_000n])).to.deep.equal([
        getAddress(partner.account.address),
        750n,
      ]);

      await collection.write.createEdition([editionSettings({ uri: "" }), []]);
      expect(await collection.read.editionCount()).to.equal(2n);
      expect(await collection.read.uri([2n])).to.equal("");
      expect(await collection.read.isSoulbound([2n])).to.equal(false);
      // Without its own royalty an edition uses the collection default (5% to the partner).
      expect(await collection.read.royaltyInfo([2n, 10_000n])).to.deep.equal([
        getAddress(partner.account.address),
        500n,
      ]);
    });

    it("rejects a zero max supply, a referral share above 50%, more than 7 phases and a reversed window", async () => {
      const { collection } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.createEdition([editionSettings({ maxSupply: 0 }), []]),
        collection,
        "InvalidMaxSupply",
        [0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.createEdition([editionSettings({ referralBps: 5001 }), []]),
        collection,
        "InvalidReferralBps",
        [5001n, 5000n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.createEdition([editionSettings(), Array.from({ length: 8 }, () => phase())]),
        collection,
        "TooManyPhases",
        [8n, 7n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.createEdition([editionSettings(), [phase({ start: 5, end: 4 })]]),
        collection,
        "InvalidPhaseWindow",
        [5n, 4n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.createEdition([
          editionSettings({ royaltyReceiver: zeroAddress.replace(/0$/, "1") as `0x${string}`, royaltyBps: 10_001n }),
          [],
        ]),
        collection,
        "ERC2981InvalidTokenRoyalty",
        [1n, 10_001n, 10_000n],
      );
    });
  });

  describe("admin setters", () => {
    it("setPhase replaces phase 0 in the edition word and other phases in their own, with PhaseUpdated", async () => {
      const { collection, createEdition } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ referralBps: 100 });
      const p0 = phase({ start: 100, end: 200, price: 1n, walletLimit: 9, merkleRoot: root });
      await viem.assertions.emitWithArgs(collection.write.setPhase([id, 0n, p0]), collection, "PhaseUpdated", [
        id,
        0n,
        100n,
        200n,
        1n,
        9n,
        root,
      ]);
      expect(await collection.read.phase([id, 0n])).to.deep.equal(p0);
      // The rest of the edition word is untouched.
      expect((await collection.read.edition([id])).referralBps).to.equal(100n);
      const p6 = phase({ price: 3n });
      await collection.write.setPhase([id, 6n, p6]);
      expect(await collection.read.phase([id, 6n])).to.deep.equal(p6);
      // Clearing an allowlist root makes the phase public again.
      await collection.write.setPhase([id, 0n, phase()]);
      expect((await collection.read.phase([id, 0n])).merkleRoot).to.equal(zeroHash);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setPhase([id, 7n, p6]),
        collection,
        "UnknownPhase",
        [id, 7n, 7n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setPhase([9n, 0n, p6]),
        collection,
        "UnknownEdition",
        [9n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setPhase([id, 1n, phase({ start: 2, end: 1 })]),
        collection,
        "InvalidPhaseWindow",
        [2n, 1n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(collection.read.phase([id, 7n]), collection, "UnknownPhase", [
        id,
        7n,
        7n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.read.phase([9n, 0n]),
        collection,
        "UnknownEdition",
        [9n],
      );
    });

    it("setMaxSupply lowers down to the minted count, never raises", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition({ maxSupply: 10 });
      await collection.write.mint([id, alice.account.address, 3n, 0n, zeroAddress], {
        account: alice.account,
        value: 3n * PRICE,
      });
      await viem.assertions.emitWithArgs(collection.write.setMaxSupply([id, 5n]), collection, "MaxSupplyUpdated", [
        id,
        10n,
        5n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setMaxSupply([id, 6n]),
        collection,
        "MaxSupplyIncrease",
        [id, 5n, 6n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setMaxSupply([id, 2n]),
        collection,
        "MaxSupplyBelowMinted",
        [id, 3n, 2n],
      );
      await collection.write.setMaxSupply([id, 3n]);
      expect(await collection.read.edition([id])).to.include({ minted: 3n, maxSupply: 3n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
          account: alice.account,
          value: PRICE,
        }),
        collection,
        "ExceedsMaxSupply",
        [id, 3n, 3n, 1n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setMaxSupply([9n, 1n]),
        collection,
        "UnknownEdition",
        [9n],
      );
    });

    it("setReferralBps, setRedeemable and setEditionPaused update the edition and emit", async () => {
      const { collection, createEdition } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      await viem.assertions.emitWithArgs(
        collection.write.setReferralBps([id, 5000n]),
        collection,
        "ReferralBpsUpdated",
        [id, 5000n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setReferralBps([id, 5001n]),
        collection,
        "InvalidReferralBps",
        [5001n, 5000n],
      );
      await viem.assertions.emitWithArgs(collection.write.setRedeemable([id, true]), collection, "RedeemableUpdated", [
        id,
        true,
      ]);
      await viem.assertions.emitWithArgs(
        collection.write.setEditionPaused([id, true]),
        collection,
        "EditionPauseUpdated",
        [id, true],
      );
      expect(await collection.read.edition([id])).to.include({ referralBps: 5000n, redeemable: true, paused: true });
      await collection.write.setRedeemable([id, false]);
      await collection.write.setEditionPaused([id, false]);
      expect(await collection.read.edition([id])).to.include({ redeemable: false, paused: false });
      for (const call of [
        () => collection.write.setReferralBps([9n, 1n]),
        () => collection.write.setRedeemable([9n, true]),
        () => collection.write.setEditionPaused([9n, true]),
        () => collection.write.setURI([9n, "x"]),
        () => collection.write.freezeURI([9n]),
        () => collection.write.setEditionRoyalty([9n, zeroAddress, 0n]),
        () => collection.write.airdrop([9n, [], []]),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(call(), collection, "UnknownEdition", [9n]);
      }
      await viem.assertions.revertWithCustomErrorWithArgs(collection.read.edition([9n]), collection, "UnknownEdition", [
        9n,
      ]);
    });

    it("pause and unpause the whole collection, including editions created while paused", async () => {
      const { collection, createEdition, partner, alice } = await networkHelpers.loadFixture(fixture);
      const first = await createEdition();
      const mint = (id: bigint) =>
        collection.write.mint([id, alice.account.address, 1n, 0n, zeroAddress], {
          account: alice.account,
          value: PRICE,
        });
      await viem.assertions.emitWithArgs(collection.write.pause(), collection, "Paused", [
        getAddress(partner.account.address),
      ]);
      expect(await collection.read.paused()).to.equal(true);
      await viem.assertions.revertWithCustomError(collection.write.pause(), collection, "CollectionPaused");
      const second = await createEdition();
      await viem.assertions.revertWithCustomError(mint(first), collection, "CollectionPaused");
      await viem.assertions.revertWithCustomError(mint(second), collection, "CollectionPaused");
      // An edition paused on its own stays paused after the collection resumes.
      await collection.write.setEditionPaused([second, true]);
      await viem.assertions.emitWithArgs(collection.write.unpause(), collection, "Unpaused", [
        getAddress(partner.account.address),
      ]);
      await viem.assertions.revertWithCustomError(collection.write.unpause(), collection, "CollectionNotPaused");
      await mint(first);
      await viem.assertions.revertWithCustomErrorWithArgs(mint(second), collection, "EditionPaused", [second]);
      expect((await collection.read.edition([first])).paused).to.equal(false);
    });

    it("setURI emits URI until frozen; freezeURI emits PermanentURI once", async () => {
      const { collection, createEdition } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      await viem.assertions.emitWithArgs(collection.write.setURI([id, "ipfs://v2.json"]), collection, "URI", [
        "ipfs://v2.json",
        id,
      ]);
      expect(await collection.read.uri([id])).to.equal("ipfs://v2.json");
      await viem.assertions.emitWithArgs(collection.write.freezeURI([id]), collection, "PermanentURI", [
        "ipfs://v2.json",
        id,
      ]);
      expect((await collection.read.edition([id])).uriFrozen).to.equal(true);
      await viem.assertions.revertWithCustomErrorWithArgs(collection.write.setURI([id, "x"]), collection, "URIFrozen", [
        id,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(collection.write.freezeURI([id]), collection, "URIFrozen", [
        id,
      ]);
    });

    it("setContractURI emits ContractURIUpdated (ERC-7572)", async () => {
      const { collection } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.emit(
        collection.write.setContractURI(["ipfs://new.json"]),
        collection,
        "ContractURIUpdated",
      );
      expect(await collection.read.contractURI()).to.equal("ipfs://new.json");
    });

    it("sets, overrides and removes royalties (ERC-2981)", async () => {
      const { collection, createEdition, alice, bob } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      await viem.assertions.emitWithArgs(
        collection.write.setDefaultRoyalty([alice.account.address, 1000n]),
        collection,
        "DefaultRoyaltyUpdated",
        [getAddress(alice.account.address), 1000n],
      );
      expect(await collection.read.royaltyInfo([id, 100n])).to.deep.equal([getAddress(alice.account.address), 10n]);
      await viem.assertions.emitWithArgs(
        collection.write.setEditionRoyalty([id, bob.account.address, 200n]),
        collection,
        "EditionRoyaltyUpdated",
        [id, getAddress(bob.account.address), 200n],
      );
      expect(await collection.read.royaltyInfo([id, 100n])).to.deep.equal([getAddress(bob.account.address), 2n]);
      await viem.assertions.emitWithArgs(
        collection.write.setEditionRoyalty([id, zeroAddress, 200n]),
        collection,
        "EditionRoyaltyUpdated",
        [id, zeroAddress, 0n],
      );
      expect(await collection.read.royaltyInfo([id, 100n])).to.deep.equal([getAddress(alice.account.address), 10n]);
      await viem.assertions.emitWithArgs(
        collection.write.setDefaultRoyalty([zeroAddress, 1000n]),
        collection,
        "DefaultRoyaltyUpdated",
        [zeroAddress, 0n],
      );
      expect(await collection.read.royaltyInfo([id, 100n])).to.deep.equal([zeroAddress, 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setDefaultRoyalty([alice.account.address, 10_001n]),
        collection,
        "ERC2981InvalidDefaultRoyalty",
        [10_001n, 10_000n],
      );
    });
  });

  describe("roles and ownership", () => {
    it("refuses every admin function to accounts without EDITION_ADMIN_ROLE or DEFAULT_ADMIN_ROLE", async () => {
      const { collection, createEdition, alice } = await networkHelpers.loadFixture(fixture);
      const id = await createEdition();
      const as = { account: alice.account } as const;
      for (const call of [
        () => collection.write.createEdition([editionSettings(), []], as),
        () => collection.write.setPhase([id, 0n, phase()], as),
        () => collection.write.setMaxSupply([id, 1n], as),
        () => collection.write.setReferralBps([id, 1n], as),
        () => collection.write.setRedeemable([id, true], as),
        () => collection.write.setEditionPaused([id, true], as),
        () => collection.write.pause(as),
        () => collection.write.unpause(as),
        () => collection.write.setURI([id, "x"], as),
        () => collection.write.freezeURI([id], as),
        () => collection.write.setContractURI(["x"], as),
        () => collection.write.setDefaultRoyalty([alice.account.address, 1n], as),
        () => collection.write.setEditionRoyalty([id, alice.account.address, 1n], as),
        () => collection.write.airdrop([id, [alice.account.address], [1n]], as),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(call(), collection, "AccessControlUnauthorizedAccount", [
          getAddress(alice.account.address),
          EDITION_ADMIN_ROLE,
        ]);
      }
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setPayoutRecipient([alice.account.address], as),
        collection,
        "AccessControlUnauthorizedAccount",
        [getAddress(alice.account.address), DEFAULT_ADMIN_ROLE],
      );
    });

    it("lets an edition admin manage editions but not roles or payouts", async () => {
      const { collection, alice, bob } = await networkHelpers.loadFixture(fixture);
      await collection.write.grantRole([EDITION_ADMIN_ROLE, alice.account.address]);
      const asAlice = { account: alice.account } as const;
      await collection.write.createEdition([editionSettings(), [phase()]], asAlice);
      await collection.write.pause(asAlice);
      await collection.write.unpause(asAlice);
      await viem.assertions.revertWithCustomError(
        collection.write.grantRole([EDITION_ADMIN_ROLE, bob.account.address], asAlice),
        collection,
        "AccessControlUnauthorizedAccount",
      );
      await viem.assertions.revertWithCustomError(
        collection.write.setPayoutRecipient([alice.account.address], asAlice),
        collection,
        "AccessControlUnauthorizedAccount",
      );
      await collection.write.revokeRole([EDITION_ADMIN_ROLE, alice.account.address]);
      await viem.assertions.revertWithCustomError(
        collection.write.pause(asAlice),
        collection,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("grants, revokes and renounces roles with OpenZeppelin's events; DEFAULT_ADMIN_ROLE administers every role", async () => {
      const { collection, partner, alice } = await networkHelpers.loadFixture(fixture);
      expect(await collection.read.getRoleAdmin([EDITION_ADMIN_ROLE])).to.equal(DEFAULT_ADMIN_ROLE);
      await viem.assertions.emitWithArgs(
        collection.write.grantRole([EDITION_ADMIN_ROLE, alice.account.address]),
        collection,
        "RoleGranted",
        [EDITION_ADMIN_ROLE, getAddress(alice.account.address), getAddress(partner.account.address)],
      );
      await viem.assertions.revertWithCustomError(
        collection.write.renounceRole([EDITION_ADMIN_ROLE, partner.account.address], { account: alice.account }),
        collection,
        "AccessControlBadConfirmation",
      );
      await viem.assertions.emitWithArgs(
        collection.write.renounceRole([EDITION_ADMIN_ROLE, alice.account.address], { account: alice.account }),
        collection,
        "RoleRevoked",
        [EDITION_ADMIN_ROLE, getAddress(alice.account.address), getAddress(alice.account.address)],
      );
      expect(await collection.read.hasRole([EDITION_ADMIN_ROLE, alice.account.address])).to.equal(false);
    });

    it("transferOwnership moves DEFAULT_ADMIN_ROLE and the payout recipient", async () => {
      const { collection, partner, alice, bob } = await networkHelpers.loadFixture(fixture);
      await collection.write.setPayoutRecipient([bob.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.transferOwnership([alice.account.address], { account: alice.account }),
        collection,
        "NotOwner",
        [getAddress(alice.account.address), getAddress(partner.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.transferOwnership([zeroAddress]),
        collection,
        "InvalidOwner",
        [zeroAddress],
      );
      const tx = collection.write.transferOwnership([alice.account.address]);
      await viem.assertions.emitWithArgs(tx, collection, "OwnershipTransferred", [
        getAddress(partner.account.address),
        getAddress(alice.account.address),
      ]);
      await viem.assertions.emitWithArgs(tx, collection, "PayoutRecipientUpdated", [
        getAddress(bob.account.address),
        getAddress(alice.account.address),
      ]);
      expect(getAddress(await collection.read.owner())).to.equal(getAddress(alice.account.address));
      expect(await collection.read.hasRole([DEFAULT_ADMIN_ROLE, alice.account.address])).to.equal(true);
      expect(await collection.read.hasRole([DEFAULT_ADMIN_ROLE, partner.account.address])).to.equal(false);
      expect(getAddress(await collection.read.payoutRecipient())).to.equal(getAddress(alice.account.address));
      await viem.assertions.revertWithCustomError(
        collection.write.pause(),
        collection,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("transferOwnership ends every role granted under the previous owner", async () => {
      const { collection, partner, alice, bob, carol, dave } = await networkHelpers.loadFixture(fixture);
      // Under the partner: alice a second admin, bob an edition admin, carol an edition admin appointed by alice.
      await collection.write.grantRole([DEFAULT_ADMIN_ROLE, alice.account.address]);
      await collection.write.grantRole([EDITION_ADMIN_ROLE, bob.account.address]);
      await collection.write.grantRole([EDITION_ADMIN_ROLE, carol.account.address], { account: alice.account });
      await collection.write.transferOwnership([dave.account.address]);

      for (const [role, who] of [
        [DEFAULT_ADMIN_ROLE, alice],
        [DEFAULT_ADMIN_ROLE, partner],
        [EDITION_ADMIN_ROLE, bob],
        [EDITION_ADMIN_ROLE, carol],
      ] as const) {
        expect(await collection.read.hasRole([role, who.account.address]), who.account.address).to.equal(false);
      }
      const unauthorized = (who: typeof alice, role: `0x${string}`) =>
        [getAddress(who.account.address), role] as [`0x${string}`, `0x${string}`];
      // The old co-admin can no longer redirect the new owner's proceeds or revoke the new owner.
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.setPayoutRecipient([alice.account.address], { account: alice.account }),
        collection,
        "AccessControlUnauthorizedAccount",
        unauthorized(alice, DEFAULT_ADMIN_ROLE),
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.revokeRole([DEFAULT_ADMIN_ROLE, dave.account.address], { account: alice.account }),
        collection,
        "AccessControlUnauthorizedAccount",
        unauthorized(alice, DEFAULT_ADMIN_ROLE),
      );
      for (const who of [bob, carol]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          collection.write.pause({ account: who.account }),
          collection,
          "AccessControlUnauthorizedAccount",
          unauthorized(who, EDITION_ADMIN_ROLE),
        );
      }
      // On-chain, the new owner sees exactly who holds what.
      expect((await collection.read.getRoleMembers([DEFAULT_ADMIN_ROLE])).map((a) => getAddress(a))).to.deep.equal([
        getAddress(dave.account.address),
      ]);
      expect(await collection.read.getRoleMemberCount([EDITION_ADMIN_ROLE])).to.equal(0n);
      // Until the new owner grants a role again.
      await collection.write.grantRole([EDITION_ADMIN_ROLE, bob.account.address], { account: dave.account });
      await collection.write.pause({ account: bob.account });
      expect((await collection.read.getRoleMembers([EDITION_ADMIN_ROLE])).map((a) => getAddress(a))).to.deep.equal([
        getAddress(bob.account.address),
      ]);
    });

    it("lists every role's members on-chain (AccessControlEnumerable), the owner first among admins", async () => {
      const { collection, publicClient, partner, alice, bob, carol } = await networkHelpers.loadFixture(fixture);
      expect(await collection.read.supportsInterface(["0x5a05180f"])).to.equal(true); // IAccessControlEnumerable
      expect(await collection.read.getRoleMemberCount([DEFAULT_ADMIN_ROLE])).to.equal(1n);
      expect(getAddress(await collection.read.getRoleMember([DEFAULT_ADMIN_ROLE, 0n]))).to.equal(
        getAddress(partner.account.address),
      );
      await collection.write.grantRole([DEFAULT_ADMIN_ROLE, alice.account.address]);
      for (const who of [alice, bob, carol])
        await collection.write.grantRole([EDITION_ADMIN_ROLE, who.account.address]);
      // Granting a role held already changes nothing (the owner is always an admin).
      const again = await collection.write.grantRole([DEFAULT_ADMIN_ROLE, partner.account.address]);
      expect((await publicClient.waitForTransactionReceipt({ hash: again })).logs).to.deep.equal([]);
      await collection.write.revokeRole([EDITION_ADMIN_ROLE, alice.account.address]);
      expect((await collection.read.getRoleMembers([DEFAULT_ADMIN_ROLE])).map((a) => getAddress(a))).to.deep.equal(
        [partner, alice].map((w) => getAddress(w.account.address)),
      );
      expect(getAddress(await collection.read.getRoleMember([DEFAULT_ADMIN_ROLE, 1n]))).to.equal(
        getAddress(alice.account.address),
      );
      expect(
        (await collection.read.getRoleMembers([EDITION_ADMIN_ROLE])).map((a) => getAddress(a)).sort(),
      ).to.deep.equal([bob, carol].map((w) => getAddress(w.account.address)).sort());
      expect(await collection.read.getRoleMemberCount([EDITION_ADMIN_ROLE])).to.equal(2n);
    });

    it("the owner's admin role goes only with ownership: no admin can revoke it and the owner cannot renounce it", async () => {
      const { collection, partner, alice } = await networkHelpers.loadFixture(fixture);
      await collection.write.grantRole([DEFAULT_ADMIN_ROLE, alice.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.revokeRole([DEFAULT_ADMIN_ROLE, partner.account.address], { account: alice.account }),
        collection,
        "OwnerRoleNotRevocable",
        [getAddress(partner.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        collection.write.renounceRole([DEFAULT_ADMIN_ROLE, partner.account.address]),
        collection,
        "OwnerRoleNotRevocable",
        [getAddress(partner.account.address)],
      );
      // The owner can still drop every other role at once: a transfer of ownership to itself.
      await collection.write.transferOwnership([partner.account.address]);
      expect(await collection.read.hasRole([DEFAULT_ADMIN_ROLE, alice.account.address])).to.equal(false);
      expect(await collection.read.hasRole([DEFAULT_ADMIN_ROLE, partner.account.address])).to.equal(true);
    });

    it("setPayoutRecipient redirects proceeds; zero restores the owner", async () => {
      const { collection, partner, bob } = await networkHelpers.loadFixture(fixture);
      expect(getAddress(await collection.read.payoutRecipient())).to.equal(getAddress(partner.account.address));
      await viem.assertions.emitWithArgs(
        collection.write.setPayoutRecipient([bob.account.address]),
        collection,
        "PayoutRecipientUpdated",
        [getAddress(partner.account.address), getAddress(bob.account.address)],
      );
      expect(getAddress(await collection.read.payoutRecipient())).to.equal(getAddress(bob.account.address));
      await viem.assertions.emitWithArgs(
        collection.write.setPayoutRecipient([zeroAddress]),
        collection,
        "PayoutRecipientUpdated",
        [getAddress(bob.account.address), getAddress(partner.account.address)],
      );
      expect(getAddress(await collection.read.payoutRecipient())).to.equal(getAddress(partner.account.address));
    });
  });

  describe("introspection", () => {
    it("supports ERC-165, ERC-1155, its metadata URI, ERC-2981, AccessControl and ERC-5633", async () => {
      const { collection } = await networkHelpers.loadFixture(fixture);
      for (const id of ["0x01ffc9a7", "0xd9b67a26", "0x0e89341c", "0x2a55205a", "0x7965db0b", "0x911ec470"] as const) {
        expect(await collection.read.supportsInterface([id]), id).to.equal(true);
      }
      expect(await collection.read.supportsInterface(["0xffffffff"])).to.equal(false);
      expect(await collection.read.supportsInterface(["0x80ac58cd"])).to.equal(false); // ERC-721
    });

    it("exposes its constants and factory", async () => {
      const { collection, factory } = await networkHelpers.loadFixture(fixture);
      expect(await collection.read.MAX_PHASES()).to.equal(7n);
      expect(await collection.read.MAX_PLATFORM_FEE_BPS()).to.equal(1000n);
      expect(await collection.read.MAX_REFERRAL_BPS()).to.equal(5000n);
      expect(await collection.read.EDITION_ADMIN_ROLE()).to.equal(EDITION_ADMIN_ROLE);
      expect(await collection.read.VOUCHER_SIGNER_ROLE()).to.equal(keccak256(toBytes("VOUCHER_SIGNER_ROLE")));
      expect(await collection.read.VOUCHER_PHASE()).to.equal(2n ** 256n - 1n);
      expect(getAddress(await collection.read.factory())).to.equal(getAddress(factory.address));
      expect(parseEther("1")).to.be.a("bigint");
    });
  });
});
