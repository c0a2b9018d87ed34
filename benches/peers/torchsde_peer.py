"""The SDE peer workloads in torchsde: sdeint with method "euler" (Euler-Maruyama, Ito,
diagonal noise) over a batch of trajectories, f32 on the CPU (torch's threads) or, with
`--device cuda`, a GPU. Lorenz is an ODE and not run here."""

import torch
import torchsde

from common import DOUBLE_WELL, OU, arguments, check_double_well, check_ou, measure


class Sde(torch.nn.Module):
    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, drift, sigma):
        super().__init__()
        self.drift, self.sigma = drift, sigma

    def f(self, t, y):
        return self.drift(y)

    def g(self, t, y):
        return torch.full_like(y, self.sigma)


def synchronized(run, device):
    """`run` followed by a wait for the device's queue, so that a GPU run's time is its own."""

    def timed():
        result = run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return result

    return timed


@torch.no_grad()
def ou(n, device):
    p = OU
    y0 = torch.full((n, 1), p["x0"], dtype=torch.float32, device=device)
    ts = torch.linspace(0.0, p["steps"] * p["dt"], p["saves"], device=device)
    ys = torchsde.sdeint(Sde(lambda y: -p["theta"] * y, p["sigma"]), y0, ts, method="euler", dt=p["dt"])
    return ys[:, :, 0].double().mean(dim=1).cpu(), ys[:, :, 0].double().var(dim=1).cpu()


@torch.no_grad()
def double_well(n, device):
    p = DOUBLE_WELL
    y0 = torch.full((n, 1), p["x0"], dtype=torch.float32, device=device)
    # Only the final state, for the histogram: torchsde has no events, and saving every step
    # to find the first passage would hold 2000 values per trajectory. This run does less
    # than the others.
    ts = torch.tensor([0.0, p["steps"] * p["dt"]], device=device)
    ys = torchsde.sdeint(Sde(lambda y: y - y**3, p["sigma"]), y0, ts, method="euler", dt=p["dt"])
    counts = torch.histc(ys[-1, :, 0], bins=p["bins"], min=p["lo"], max=p["hi"])
    return counts.cpu().numpy(), None


def main():
    args = arguments(__doc__)
    n = 1 << args.log2
    torch.manual_seed(1)
    device = torch.device(args.device)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{torch.get_num_threads()} threads")
    adapter = f"torchsde {torchsde.__version__}, torch {torch.__version__} ({where})"
    only = args.only.split(",")
    if "ou" in only:
        measure("torchsde", adapter, "ou", n, OU["steps"], synchronized(lambda: ou(n, device), device),
                lambda m: check_ou(float(m[0][-1]), float(m[1][-1]), n), args.repeats)
    if "double_well" in only:
        measure("torchsde", adapter, "double_well", n, DOUBLE_WELL["steps"],
                synchronized(lambda: double_well(n, device), device),
                lambda r: check_double_well(r[0], r[1], n), args.repeats)


if __name__ == "__main__":
    main()
