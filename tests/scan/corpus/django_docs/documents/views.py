from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, render
from rest_framework import generics, permissions, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.models import Document, Folder, License
from documents.permissions import IsCreator
from documents.serializers import DocumentSerializer, FolderSerializer, LicenseSerializer


class FolderViewSet(viewsets.ModelViewSet):
    serializer_class = FolderSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return self.request.user.folders.all()

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


class DocumentViewSet(viewsets.ModelViewSet):  # expect: BOLA005
    queryset = Document.objects.select_related("folder").all()
    serializer_class = DocumentSerializer
    permission_classes = [permissions.IsAuthenticated]


class SharedDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Document.objects.all()
    serializer_class = DocumentSerializer
    permission_classes = [permissions.IsAuthenticated, IsCreator]


class FolderDetail(generics.RetrieveUpdateDestroyAPIView):  # expect: BOLA005
    queryset = Folder.objects.all()
    serializer_class = FolderSerializer


class RecentDocuments(generics.ListAPIView):
    serializer_class = DocumentSerializer

    def get_queryset(self):
        return Document.objects.filter(created_by=self.request.user).order_by("-id")[:20]


class LicenseViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = License.objects.all()
    serializer_class = LicenseSerializer


class DocumentDownload(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request, pk):
        document = Document.objects.get(pk=pk)  # expect: BOLA001
        return Response({"title": document.title, "body": document.body})


class DocumentArchive(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def post(self, request, pk):
        document = get_object_or_404(Document, pk=pk, created_by=request.user)
        document.title = f"[archived] {document.title}"
        document.save()
        return Response(status=204)


class FolderDocuments(APIView):
    def get(self, request, folder_pk, pk):
        folder = get_object_or_404(Folder, pk=folder_pk, owner=request.user)
        document = get_object_or_404(Document, pk=pk)  # expect: BOLA004
        return Response(DocumentSerializer(document).data)


class FolderDocumentsSafe(APIView):
    def get(self, request, folder_pk, pk):
        folder = get_object_or_404(Folder, pk=folder_pk, owner=request.user)
        document = get_object_or_404(folder.documents, pk=pk)
        return Response(DocumentSerializer(document).data)


@login_required
def document_detail(request, pk):
    document = get_object_or_404(Document, pk=pk)
    if document.created_by != request.user:
        return HttpResponseForbidden()
    return render(request, "documents/detail.html", {"document": document})


@login_required
def document_delete(request, pk):
    document = get_object_or_404(Document, pk=pk)  # expect: BOLA002
    if request.method == "POST":
        document.delete()
        return JsonResponse({"deleted": pk})
    return render(request, "documents/confirm_delete.html", {"document": document})


@login_required
def create_document(request):
    folder = get_object_or_404(Folder, pk=request.POST["folder"], owner=request.user)
    document = Document.objects.create(
        title=request.POST["title"], folder=folder, created_by_id=request.POST["author"]  # expect: BOLA003
    )
    return JsonResponse({"id": document.pk})


def license_text(request, code):
    license_ = get_object_or_404(License, code=code)
    return JsonResponse({"text": license_.text})
