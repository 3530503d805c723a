// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

contract Bank {
    address owner;
    mapping(address => uint256) balances;
    uint256 constant unused_Fee = 1;

    constructor() { owner = msg.sender; }

    function deposit() external payable { balances[msg.sender] += msg.value; }

    function withdraw() external {
        uint256 amount = balances[msg.sender];
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok);
        balances[msg.sender] = 0;
    }

    function sweep(address payable to) external {
        require(tx.origin == owner);
        to.transfer(address(this).balance);
    }

    function kill() external {
        selfdestruct(payable(msg.sender));
    }
}
