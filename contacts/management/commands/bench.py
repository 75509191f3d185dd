"""Run Waymark's benchmarks; each prints one JSON line {"bench", "figures", "ratios", "checks"}."""

from django.core.management.base import BaseCommand, CommandError

from bench import BENCHMARKS


class Command(BaseCommand):
    help = (
        "Run a benchmark by name (or 'all'). Progress goes to stderr; each benchmark's result is one JSON "
        "line on stdout. Fails if any check is false."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", choices=[*BENCHMARKS, "all"])
        parser.add_argument("--contacts", type=int, default=None,
                            help="Size of the benchmark's data (each benchmark has its own default)")

    def handle(self, *args, name: str, contacts: int | None, **options) -> None:
        if contacts is not None and contacts < 1:
            raise CommandError("--contacts must be at least 1.")
        failed = []
        for bench_name in BENCHMARKS if name == "all" else [name]:
            result = BENCHMARKS[bench_name](contacts=contacts, log=self.stderr.write)
            self.stdout.write(result.as_json(bench_name))
            failed += [f"{bench_name}.{check}" for check, ok in result.checks.items() if not ok]
        if failed:
            raise CommandError(f"Checks failed: {', '.join(failed)}")
