"""The onboarding wizard's steps, defined once.

The wizard page (`accounts.views.onboarding`), its progress bar and the
drive app's step handling (`drive.views.onboarding_context`, which decides
the current step from `?step=`) all read this list, in this order.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class OnboardingStep:
    key: str  # the `?step=` value
    title: str  # in the progress bar
    description: str  # read by screen readers beside the title
    page_heading: str = ""  # above the step's form, when not the title

    @property
    def heading(self) -> str:
        return self.page_heading or self.title


ONBOARDING_STEPS: tuple[OnboardingStep, ...] = (
    OnboardingStep(
        "source", "Connect a source", "Link Google Drive or a local inbox folder for your images."
    ),
    OnboardingStep("folder", "Choose a folder", "Pick the folder Creator watches for new images."),
    OnboardingStep("preset", "Choose a preset", "Decide how your images should be processed."),
    OnboardingStep(
        "done",
        "Done",
        "Drop an image in the folder and watch it come back processed.",
        page_heading="Done: here is your setup",
    ),
)
ONBOARDING_STEP_KEYS: tuple[str, ...] = tuple(step.key for step in ONBOARDING_STEPS)
