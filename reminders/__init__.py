"""SMS check-ins for the first two months of treatment.

The pure core (protocols, plan, triage, keywords, messages, followup, delivery) does no
I/O and reads no clock; adapters (models, store, services, sms, web, jobs, cli) sit
around it.
"""
