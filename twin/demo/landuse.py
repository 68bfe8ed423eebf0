"""Land use of blocks and parcels (codes of Circular 08/2024/TT-BTNMT) and parcel sizes."""

from __future__ import annotations

import numpy as np

ZONES = ("core", "urban", "suburban", "rural", "floodplain")
PARCEL_SIZE = {"core": 40.0, "urban": 50.0, "suburban": 66.0, "rural": 85.0,
               "floodplain": 70.0}   # typical parcel side (m) at scale 1
BLOCK_USE = {
    "core": {"ODT": 0.88, "TMD": 0.05, "DGD": 0.02, "DYT": 0.01, "TON": 0.01, "DVH": 0.01,
             "TSC": 0.01, "DTT": 0.01},
    "urban": {"ODT": 0.84, "TMD": 0.05, "DGD": 0.025, "DYT": 0.01, "TON": 0.01, "SKC": 0.02,
              "DVH": 0.01, "TSC": 0.01, "DTT": 0.01, "CQP": 0.005, "CLN": 0.01},
    "suburban": {"ODT": 0.55, "CLN": 0.12, "LUC": 0.12, "BHK": 0.05, "NTS": 0.05, "SKC": 0.03,
                 "TMD": 0.03, "DGD": 0.02, "TON": 0.01, "NTD": 0.01, "ONT": 0.01},
    "rural": {"LUC": 0.35, "CLN": 0.18, "BHK": 0.10, "NTS": 0.12, "ODT": 0.15, "ONT": 0.04,
              "NTD": 0.02, "TON": 0.02, "SKC": 0.02},
    "floodplain": {"ODT": 0.45, "BHK": 0.25, "CLN": 0.20, "NTS": 0.10},
}
WHOLE_BLOCK = {"DGD", "DYT", "TON", "DVH", "DTT", "TSC", "CQP", "SKC", "NTD"}
FARMLAND = {"LUC", "BHK", "NTS", "CLN"}
SPRINKLE = {"ODT": ("TMD", 0.05), "LUC": ("ODT", 0.06), "CLN": ("ODT", 0.08),
            "BHK": ("ODT", 0.06), "NTS": ("ODT", 0.04)}


def block_use(zone: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Main land-use code of each block (object array)."""
    out = np.empty(len(zone), dtype=object)
    for z, name in enumerate(ZONES):
        m = zone == z
        codes, p = zip(*BLOCK_USE[name].items(), strict=False)
        p = np.asarray(p) / np.sum(p)
        out[m] = np.asarray(codes, dtype=object)[rng.choice(len(codes), m.sum(), p=p)]
    return out


def parcel_counts(inner: np.ndarray, zone: np.ndarray, use: np.ndarray, scale: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Parcels across (nx, 1-4) and along (ny, 1-5) each block."""
    w = (np.linalg.norm(inner[:, 1] - inner[:, 0], axis=1) +
         np.linalg.norm(inner[:, 2] - inner[:, 3], axis=1)) / 2
    h = (np.linalg.norm(inner[:, 3] - inner[:, 0], axis=1) +
         np.linalg.norm(inner[:, 2] - inner[:, 1], axis=1)) / 2
    size = np.array([PARCEL_SIZE[z] for z in ZONES])[zone] * scale ** -0.25
    size = size * np.where(np.isin(use, list(FARMLAND)), 1.5, 1.0) * rng.uniform(0.85, 1.2,
                                                                                len(zone))
    nx = np.clip(np.round(w / size), 1, 4).astype(int)
    ny = np.clip(np.round(h / size), 1, 5).astype(int)
    whole = np.isin(use, list(WHOLE_BLOCK))
    nx[whole] = 1
    ny[whole] = np.where(rng.random(whole.sum()) < 0.6, 1, np.minimum(2, ny[whole]))
    return nx, ny


def parcel_use(block_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-parcel codes: the block's use with a few others sprinkled in."""
    out = block_codes.copy()
    u = rng.random(len(out))
    for main, (other, p) in SPRINKLE.items():
        out[(block_codes == main) & (u < p)] = other
    return out
