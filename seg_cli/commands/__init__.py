"""The Hydra apps behind `seg <command>`: the only modules that import Hydra."""
