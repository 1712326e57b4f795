// Deliberately failing (see README.md): a script run by `hardhat run` (as `npm run bench:gas` is) that throws must
// exit non-zero.
throw new Error("deliberate failure in a hardhat script");
