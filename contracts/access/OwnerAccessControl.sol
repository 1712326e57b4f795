// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IAccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/IAccessControlEnumerable.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/// @title OwnerAccessControl
/// @author Perkmint
/// @notice OpenZeppelin's role interface (`IAccessControl`, `IAccessControlEnumerable`: the same functions, events
///         and errors) for a contract with one owner, where every role lives only as long as the ownership it was
///         granted under.
/// @dev Why not OpenZeppelin's AccessControlEnumerable:
///      - The owner is always the admin (`DEFAULT_ADMIN_ROLE`) and no one else can take that from it: its admin role
///        is derived from the owner, not stored. Nothing else can revoke it, and storing it would cost a new
///        collection three more storage words (~66,000 gas) as an enumerable member.
///      - A transfer of ownership must end every role granted before it, whoever holds them and however many were
///        granted. Revoking them one by one is unbounded; here each ownership term has its own member sets and a
///        new term ({_startRoleTerm}) simply leaves the old sets behind, in constant gas.
///      Every role is administered by `DEFAULT_ADMIN_ROLE`. Members are listable on-chain: `getRoleMembers(role)`
///      lists the current term's, with the owner first among the admins.
abstract contract OwnerAccessControl is ERC165, IAccessControlEnumerable {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice The admin role: held by the owner always and by accounts it grants; administers every role.
    bytes32 public constant DEFAULT_ADMIN_ROLE = 0x00;

    /// @dev Members of each role in each ownership term (the owner itself is never stored as an admin).
    mapping(uint256 term => mapping(bytes32 role => EnumerableSet.AddressSet)) private _members;
    uint256 private _roleTerm;

    /// @notice The owner's admin role goes with ownership only (see `transferOwnership`).
    error OwnerRoleNotRevocable(address owner);

    modifier onlyRole(bytes32 role) {
        if (!hasRole(role, msg.sender)) revert AccessControlUnauthorizedAccount(msg.sender, role);
        _;
    }

    /// @dev The account that is always an admin.
    function _owner() internal view virtual returns (address);

    /// @inheritdoc IAccessControl
    function hasRole(bytes32 role, address account) public view returns (bool) {
        return (role == DEFAULT_ADMIN_ROLE && account == _owner()) || _members[_roleTerm][role].contains(account);
    }

    /// @inheritdoc IAccessControl
    /// @dev Always `DEFAULT_ADMIN_ROLE`.
    function getRoleAdmin(bytes32) external pure returns (bytes32) {
        return DEFAULT_ADMIN_ROLE;
    }

    /// @inheritdoc IAccessControl
    function grantRole(bytes32 role, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!hasRole(role, account)) {
            _members[_roleTerm][role].add(account);
            emit RoleGranted(role, account, msg.sender);
        }
    }

    /// @inheritdoc IAccessControl
    function revokeRole(bytes32 role, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _revokeRole(role, account);
    }

    /// @inheritdoc IAccessControl
    function renounceRole(bytes32 role, address callerConfirmation) external {
        if (callerConfirmation != msg.sender) revert AccessControlBadConfirmation();
        _revokeRole(role, msg.sender);
    }

    /// @inheritdoc IAccessControlEnumerable
    function getRoleMember(bytes32 role, uint256 index) external view returns (address) {
        if (role == DEFAULT_ADMIN_ROLE) {
            if (index == 0) return _owner();
            --index;
        }
        return _members[_roleTerm][role].pos(index);
    }

    /// @inheritdoc IAccessControlEnumerable
    function getRoleMemberCount(bytes32 role) external view returns (uint256) {
        return _members[_roleTerm][role].length() + (role == DEFAULT_ADMIN_ROLE ? 1 : 0);
    }

    /// @notice Every account that holds `role` now (for `DEFAULT_ADMIN_ROLE`, the owner first).
    /// @param role The role to list.
    /// @return members Its members in the current ownership term, in no guaranteed order apart from the owner.
    function getRoleMembers(bytes32 role) external view returns (address[] memory members) {
        address[] memory granted = _members[_roleTerm][role].values();
        if (role != DEFAULT_ADMIN_ROLE) return granted;
        members = new address[](granted.length + 1);
        members[0] = _owner();
        for (uint256 i; i < granted.length; ++i) members[i + 1] = granted[i];
    }

    /// @inheritdoc ERC165
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return
            interfaceId == type(IAccessControlEnumerable).interfaceId ||
            interfaceId == type(IAccessControl).interfaceId ||
            super.supportsInterface(interfaceId);
    }

    /// @dev Ends every role granted so far; the owner (from {_owner}) stays the only admin.
    function _startRoleTerm() internal {
        ++_roleTerm;
    }

    function _revokeRole(bytes32 role, address account) private {
        if (role == DEFAULT_ADMIN_ROLE && account == _owner()) revert OwnerRoleNotRevocable(account);
        if (_members[_roleTerm][role].remove(account)) emit RoleRevoked(role, account, msg.sender);
    }
}
