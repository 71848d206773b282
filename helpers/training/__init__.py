"""How the course trains: the one recipe (:mod:`.recipe`), the fast recipe (:mod:`.fast`),
learning-rate schedules, augmentation layers and pipelines, and fine-tuning (freeze/unfreeze)."""
