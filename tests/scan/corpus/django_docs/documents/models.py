from django.conf import settings
from django.db import models


class Folder(models.Model):
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders")


class Document(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="documents")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="documents")


class License(models.Model):
    code = models.CharField(max_length=32, unique=True)
    text = models.TextField()
